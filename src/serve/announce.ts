/** What `serve` prints when it starts: the URL, and a warning when it listens beyond this machine. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

export function announce(url: string, host: string, dir: string): string {
  const lines = [`dashboard: ${url}  (serving ${dir}, read-only; Ctrl-C to stop)`];
  if (!isLoopback(host)) {
    lines.push(
      `warning: listening on ${host}, not only on this machine: anyone who can reach this port can read every run under ${dir}. ` +
        'Prefer the default 127.0.0.1 with an ssh tunnel (ssh -L 6006:localhost:6006 <gpu-box>).',
    );
  } else {
    lines.push('  on a remote machine: ssh -L <port>:localhost:<port> <host>, then open the URL on your computer');
  }
  return lines.join('\n') + '\n';
}
