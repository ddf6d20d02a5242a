import type { ArgumentsCamelCase, CommandModule } from 'yargs';
import { resolve } from 'node:path';
import { announce, startServer } from '../../serve/index.ts';

type Args = { dir: string; port: number; host: string };

/** Options shared with `sweep --serve`. */
export const serveHostOption = {
  type: 'string',
  default: '127.0.0.1',
  describe: 'address to listen on; anything but 127.0.0.1/localhost exposes your runs to the network (a warning is printed)',
} as const;

const command: CommandModule<object, Args> = {
  command: 'serve [dir]',
  describe: 'live dashboard of the sweeps and runs under a folder, in the browser (read-only)',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', default: 'runs', describe: 'folder with sweeps or runs' })
      .option('port', { type: 'number', default: 6006, describe: 'port (0: any free port)' })
      .option('host', serveHostOption)
      .example('$0 serve', 'every sweep under runs/ at http://127.0.0.1:6006/')
      .example('$0 serve runs/quick --port 8080', 'one sweep on another port') as never,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const dir = resolve(argv.dir);
    const srv = await startServer({ dir, port: argv.port, host: argv.host });
    process.stderr.write(announce(srv.url, argv.host, dir));
    await new Promise<void>((done) => {
      const stop = () => {
        process.stderr.write('\nstopping the dashboard\n');
        void srv.close().then(done);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};
export default command;
