import cliProgress from 'cli-progress';

/**
 * tqdm-style progress bar with ETA, written to stderr so that stdout stays
 * clean for --json. Silent when stderr is not a terminal unless `force`;
 * in that case it prints a plain line every `logEvery` ms instead, so CI logs
 * still show progress.
 */
export interface Progress {
  update(value: number, payload?: Record<string, string | number>): void;
  increment(delta?: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

export function progressBar(
  label: string,
  total: number,
  opts: { unit?: string; extra?: string; quiet?: boolean; logEvery?: number } = {},
): Progress {
  if (opts.quiet) return { update() {}, increment() {}, stop() {} };
  const unit = opts.unit ?? '';
  if (!process.stderr.isTTY) {
    // Non-interactive: periodic plain lines.
    let value = 0;
    const start = Date.now();
    let last = 0;
    const every = opts.logEvery ?? 10_000;
    const line = (payload?: Record<string, string | number>) => {
      const el = (Date.now() - start) / 1000;
      const eta = value > 0 ? (el * (total - value)) / value : NaN;
      const extra = payload ? ' ' + Object.entries(payload).map(([k, v]) => `${k}=${v}`).join(' ') : '';
      process.stderr.write(
        `${label}: ${value}/${total}${unit} (${((100 * value) / Math.max(total, 1)).toFixed(0)}%) ` +
          `elapsed ${fmtDuration(el)} eta ${Number.isFinite(eta) ? fmtDuration(eta) : '?'}${extra}\n`,
      );
    };
    return {
      update(v, payload) {
        value = v;
        if (Date.now() - last > every || value >= total) {
          last = Date.now();
          line(payload);
        }
      },
      increment(d = 1, payload) {
        this.update(value + d, payload);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} |{bar}| {percentage}% {value}/{total}${unit} | {duration_formatted} < eta {eta_formatted} ${opts.extra ?? ''}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update: (v, payload) => bar.update(v, payload),
    increment: (d = 1, payload) => bar.increment(d, payload),
    stop: () => bar.stop(),
  };
}

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  s = Math.round(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/**
 * Two or more stacked bars (e.g. whole sweep + current run). Falls back to
 * periodic plain lines when stderr is not a terminal.
 */
export interface MultiProgress {
  create(label: string, total: number, extra?: string): Progress;
  log(msg: string): void;
  stop(): void;
}

export function multiProgress(opts: { quiet?: boolean } = {}): MultiProgress {
  if (opts.quiet) return { create: () => ({ update() {}, increment() {}, stop() {} }), log() {}, stop() {} };
  if (!process.stderr.isTTY) {
    return {
      create: (label, total, extra) => progressBar(label, total, { extra }),
      log: (msg) => process.stderr.write(msg.endsWith('\n') ? msg : msg + '\n'),
      stop() {},
    };
  }
  const multi = new cliProgress.MultiBar(
    {
      format: `{label} |{bar}| {percentage}% {value}/{total} | {duration_formatted} < eta {eta_formatted} {extra}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      stream: process.stderr,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    create(label, total, extra) {
      const template = extra ?? '';
      const fill = (payload?: Record<string, string | number>) => ({
        label,
        extra: template.replace(/\{(\w+)\}/g, (_m, k: string) => String(payload?.[k] ?? '-')),
      });
      let last: Record<string, string | number> = {};
      const bar = multi.create(total, 0, fill());
      return {
        update: (v, payload) => {
          last = { ...last, ...payload };
          bar.update(v, fill(last));
        },
        increment: (d = 1, payload) => {
          last = { ...last, ...payload };
          bar.increment(d, fill(last));
        },
        stop: () => {
          bar.stop();
          multi.remove(bar);
        },
      };
    },
    log: (msg) => multi.log(msg.endsWith('\n') ? msg : msg + '\n'),
    stop: () => multi.stop(),
  };
}
