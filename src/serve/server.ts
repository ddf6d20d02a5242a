/**
 * `chinchilla serve`: a read-only HTTP server for the dashboard.
 *
 *   GET /                      the page (public/index.html, app.js, style.css)
 *   GET /vendor/<lib>.js       vega, vega-lite, vega-embed from node_modules (no CDN: works offline)
 *   GET /api/sweeps            every sweep and its runs (SweepView[])
 *   GET /api/graphs?sweep=ID&n=total|non-embedding&runs=a,b   the plot specs (GraphsResponse)
 *   GET /api/events            server-sent events: `sweeps` with the ids that changed
 *   GET /files/<path>          a file under the served folder (plots, report.html)
 *
 * The folder is polled (stat of each run's files, once a second by default),
 * which also sees rows written by other machines into a shared folder, where
 * inotify-style watches do not fire. Nothing is ever written under the folder.
 */
import { createReadStream, readFileSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ParamCount } from '../fit/types.ts';
import { UserError } from '../util/errors.ts';
import { sweepGraphs, type GraphsResponse } from './graphs.ts';
import { resolveInside } from './safePath.ts';
import { RunsTree } from './scan.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Browser builds served under /vendor/ (resolved once, from this package's node_modules). */
const VENDOR: Record<string, [pkg: string, file: string]> = {
  'vega.js': ['vega', 'build/vega.min.js'],
  'vega-lite.js': ['vega-lite', 'build/vega-lite.min.js'],
  'vega-embed.js': ['vega-embed', 'build/vega-embed.min.js'],
};

/** A package's folder (its `exports` map hides build/ from require.resolve, so walk up from its entry point). */
function packageDir(pkg: string): string {
  let d = dirname(require.resolve(pkg));
  while (basename(d) !== pkg && dirname(d) !== d) d = dirname(d);
  return d;
}
const PUBLIC = new Set(['index.html', 'app.js', 'style.css']);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.csv': 'text/csv; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export interface ServeOptions {
  dir: string;
  port: number;
  host: string;
  /** milliseconds between scans of the folder; default 1000 */
  pollMs?: number;
}

export interface DashboardServer {
  url: string;
  port: number;
  server: Server;
  tree: RunsTree;
  close(): Promise<void>;
}

export async function startServer(o: ServeOptions): Promise<DashboardServer> {
  let root: string;
  try {
    root = realpathSync(o.dir);
    if (!statSync(root).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new UserError(`${o.dir}: no such folder; give the runs folder to serve (default runs/), e.g. \`chinchilla serve runs\``);
  }
  const tree = new RunsTree(root);
  tree.refresh();
  const clients = new Set<ServerResponse>();
  const graphCache = new Map<string, { version: string; body: string }>();

  const poll = setInterval(() => {
    let changed: string[];
    try {
      changed = tree.refresh();
    } catch {
      return; // a folder vanished mid-scan: the next scan sees the new state
    }
    if (changed.length === 0) return;
    const msg = `event: sweeps\ndata: ${JSON.stringify(changed)}\n\n`;
    for (const c of clients) c.write(msg);
  }, o.pollMs ?? 1000);
  const heartbeat = setInterval(() => {
    for (const c of clients) c.write(': keep-alive\n\n');
  }, 15_000);

  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer) => {
    res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    res.end(body);
  };
  const notFound = (res: ServerResponse) => send(res, 404, TYPES['.txt']!, 'not found\n');

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' });
      res.end();
      return;
    }
    // the raw path, not URL-normalised, so that /files/../x is seen (and refused) as written
    const rawPath = (req.url ?? '/').split('?')[0]!;
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    if (rawPath === '/' || rawPath === '/index.html') return sendPublic(res, 'index.html');
    if (rawPath === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    if (rawPath.startsWith('/static/')) {
      const f = rawPath.slice('/static/'.length);
      return PUBLIC.has(f) ? sendPublic(res, f) : notFound(res);
    }
    if (rawPath.startsWith('/vendor/')) {
      const lib = VENDOR[rawPath.slice('/vendor/'.length)];
      if (!lib) return notFound(res);
      return streamFile(res, join(packageDir(lib[0]), lib[1]));
    }
    if (rawPath === '/api/sweeps') return send(res, 200, TYPES['.json']!, JSON.stringify(tree.list()));
    if (rawPath === '/api/graphs') {
      const st = tree.get(query.get('sweep') ?? '');
      if (!st) return notFound(res);
      const n: ParamCount = query.get('n') === 'non-embedding' ? 'non-embedding' : 'total';
      const only = (query.get('runs') ?? '').split(',').filter(Boolean);
      const key = `${st.view.id}\n${n}\n${only.join(',')}`;
      const hit = graphCache.get(key);
      if (hit && hit.version === st.view.version) return send(res, 200, TYPES['.json']!, hit.body);
      const body = JSON.stringify(sweepGraphs(st.dir, st.data, n, only) satisfies GraphsResponse);
      if (graphCache.size >= 16) graphCache.clear(); // answers of big sweeps are megabytes
      graphCache.set(key, { version: st.view.version, body });
      return send(res, 200, TYPES['.json']!, body);
    }
    if (rawPath === '/api/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      res.write('retry: 2000\n\n');
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    if (rawPath.startsWith('/files/')) {
      const p = resolveInside(root, rawPath.slice('/files/'.length));
      return p ? streamFile(res, p) : notFound(res);
    }
    notFound(res);
  };

  const sendPublic = (res: ServerResponse, f: string) => send(res, 200, TYPES[extname(f)] ?? TYPES['.txt']!, readFileSync(join(HERE, 'public', f)));
  const streamFile = (res: ServerResponse, p: string) => {
    res.writeHead(200, { 'Content-Type': TYPES[extname(p)] ?? 'application/octet-stream', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    createReadStream(p).on('error', () => res.destroy()).pipe(res);
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      if (!res.headersSent) send(res, 500, TYPES['.txt']!, `error: ${(e as Error).message}\n`);
      else res.destroy();
    }
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new UserError(`port ${o.port} on ${o.host} is in use; pick another with --port`) : e),
    );
    server.listen(o.port, o.host, () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${shownHost === '0.0.0.0' ? 'localhost' : shownHost}:${port}/`,
    port,
    server,
    tree,
    close: () =>
      new Promise<void>((r) => {
        clearInterval(poll);
        clearInterval(heartbeat);
        for (const c of clients) c.end();
        clients.clear();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
