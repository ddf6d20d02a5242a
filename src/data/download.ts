/**
 * HTTP(S) download of one file to disk: streamed, hashed on the fly, with a
 * bytes/ETA progress bar, an idle timeout, and a check that the whole body
 * arrived. Failures throw DownloadError with a one-line, human reason
 * ("host not found (offline?)", "HTTP 403 Forbidden", "timed out after 30 s").
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { progressBar } from '../util/progress.ts';

export class DownloadError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`${url}: ${reason}`);
    this.name = 'DownloadError';
  }
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
}

export interface DownloadOptions {
  label: string;
  /** Size to show in the progress bar when the server sends no Content-Length. */
  expectedBytes?: number;
  /** Abort when no data arrives for this long (connect, headers, or between chunks). */
  idleTimeoutMs?: number;
  quiet?: boolean;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** Download `url` into `dest` (created/overwritten; removed again on failure). */
export async function downloadToFile(url: string, dest: string, o: DownloadOptions): Promise<DownloadResult> {
  const idle = o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const ctrl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      ctrl.abort();
    }, idle);
  };
  const fd = openSync(dest, 'w');
  let ok = false;
  let bytes = 0;
  let declared: number | undefined;
  try {
    arm();
    const res = await fetch(url, {
      signal: ctrl.signal,
      redirect: 'follow',
      // Some hosts refuse requests without a familiar user agent.
      headers: { 'user-agent': 'Wget/1.21 (chinchilla-lab)', accept: '*/*' },
    });
    if (!res.ok || !res.body) throw new DownloadError(url, `HTTP ${res.status} ${res.statusText}`.trim());
    const lengthHeader = res.headers.get('content-length');
    declared = lengthHeader !== null ? Number(lengthHeader) : undefined;
    const total = declared ?? o.expectedBytes ?? 0;
    const bar = progressBar(o.label, Math.max(1, Math.ceil(total / 1024)), { unit: ' KiB', quiet: o.quiet, logEvery: 5_000 });
    const hash = createHash('sha256');
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        arm();
        writeSync(fd, chunk);
        hash.update(chunk);
        bytes += chunk.length;
        bar.update(Math.floor(bytes / 1024));
      }
    } finally {
      bar.stop();
    }
    if (declared !== undefined && bytes !== declared) {
      throw new DownloadError(url, `partial download: got ${bytes} of ${declared} bytes`);
    }
    fsyncSync(fd);
    ok = true;
    return { bytes, sha256: hash.digest('hex') };
  } catch (e) {
    if (e instanceof DownloadError) throw e;
    const why = timedOut ? `timed out (no data for ${idle < 1000 ? `${idle} ms` : `${Math.round(idle / 1000)} s`})` : networkReason(e);
    const partial = bytes > 0 ? `partial download: stopped after ${bytes}${declared ? ` of ${declared}` : ''} bytes, ` : '';
    throw new DownloadError(url, partial + why);
  } finally {
    clearTimeout(timer);
    closeSync(fd);
    if (!ok) rmSync(dest, { force: true });
  }
}

/** A short human reason for a fetch failure (undici wraps the system error in `cause`). */
export function networkReason(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  const code = err?.cause?.code;
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found (offline, or DNS unavailable)';
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset by the server';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'connection timed out';
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return 'network unreachable (offline?)';
    case 'CERT_HAS_EXPIRED':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      return `TLS certificate problem (${code})`;
  }
  const msg = err?.cause?.message ?? err?.message ?? String(e);
  return code ? `${msg} (${code})` : msg;
}
