// Entry of a data-parallel worker thread. Every thread has its own module
// loader, so tsx's loader is registered here too (as bin/chinchilla.js does for
// the main thread) before the TypeScript worker is imported. Works the same from
// the CLI and inside vitest.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
