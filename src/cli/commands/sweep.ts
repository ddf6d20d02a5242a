import type { CommandModule } from 'yargs';
import { UserError } from '../../util/errors.ts';

// Placeholder until the issue that owns this command lands.
const command: CommandModule = {
  command: 'sweep',
  describe: '(sweep: not implemented yet)',
  handler: () => {
    throw new UserError('sweep is not implemented yet');
  },
};
export default command;
