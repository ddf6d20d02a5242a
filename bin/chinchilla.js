#!/usr/bin/env node
// Entry point of the `chinchilla` command. The sources are TypeScript, run
// through tsx's loader so that `npx chinchilla …` works right after `npm ci`
// with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/index.ts');
await main(process.argv.slice(2));
