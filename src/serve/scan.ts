/**
 * What the dashboard knows about the folder it serves: its sweeps, each with
 * its runs (status, progress, parameters, last validation loss) and rows.
 *
 * A run is a folder holding run.json or metrics.csv; its sweep is the nearest
 * folder above it (or the served folder itself) with a sweep.json, else its
 * parent folder. Runs that sweep.json lists but that have no folder yet are
 * shown as pending. Files are re-read only when their size or mtime changed,
 * and a file that cannot be read (being replaced, half written) keeps its last
 * good content, so a scan never fails because a trainer is writing.
 */
import { readSweepJson } from '../artifacts/sweepJson.ts';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { readRunInfo } from '../fit/load.ts';
import type { MetricRow, RunData, RunInfo, RunStatus } from '../fit/types.ts';
import { parseMetricsText } from '../artifacts/metrics.ts';
import { resolveInside } from './safePath.ts';

/** Folders that never hold runs. */
const SKIP_DIRS = new Set(['checkpoints', 'plots', 'node_modules', 'tensorboard']);
const MAX_DEPTH = 6;

export interface RunView {
  name: string;
  /** folder relative to the served root ('' for pending runs without one) */
  dir: string;
  status: RunStatus;
  step: number;
  steps: number;
  /** 0..1 */
  progress: number;
  /** seconds left, for running runs with at least one timed row */
  eta_s: number | null;
  params_total: number | null;
  params_non_embedding: number | null;
  backend: string | null;
  tokens_per_s: number | null;
  val_loss: number | null;
  rows: number;
  /** metrics.csv rows left out (unfinished last line, non-numeric cells) */
  skipped_rows: number;
  /** seconds since run.json or metrics.csv last changed (a 'running' run that stays quiet may have died) */
  quiet_s: number | null;
}

export interface SweepView {
  /** folder relative to the served root ('.' for the root itself) */
  id: string;
  name: string;
  kind: string | null;
  runs: RunView[];
  /** fit.json, when the sweep has one (relative path), and its report and pictures */
  fit_json: string | null;
  report_html: string | null;
  plots: string[];
  /** changes whenever any file of the sweep changes */
  version: string;
}

interface Cached<T> {
  key: string;
  value: T;
}

/** The parsed sweep state plus the run data the graphs need. */
export interface SweepState {
  view: SweepView;
  /** runs with run.json and at least the header of metrics.csv, as src/fit reads them */
  data: RunData[];
  dir: string;
}

export class RunsTree {
  private cache = new Map<string, Cached<unknown>>();
  private sweeps = new Map<string, SweepState>();

  constructor(readonly root: string) {}

  /** Re-scan the folder; returns the ids of sweeps that appeared, changed or went away. */
  refresh(): string[] {
    const runDirs: string[] = [];
    const sweepDirs = new Set<string>();
    this.walk(this.root, 0, runDirs, sweepDirs);
    const bySweep = new Map<string, string[]>();
    for (const d of runDirs) {
      const s = this.sweepOf(d, sweepDirs);
      if (!bySweep.has(s)) bySweep.set(s, []);
      bySweep.get(s)!.push(d);
    }
    for (const s of sweepDirs) if (!bySweep.has(s)) bySweep.set(s, []);
    const seen = new Set<string>();
    const changed: string[] = [];
    for (const [dir, runs] of bySweep) {
      const st = this.buildSweep(dir, runs);
      seen.add(st.view.id);
      if (this.sweeps.get(st.view.id)?.view.version !== st.view.version) changed.push(st.view.id);
      this.sweeps.set(st.view.id, st);
    }
    for (const id of [...this.sweeps.keys()]) {
      if (!seen.has(id)) {
        this.sweeps.delete(id);
        changed.push(id);
      }
    }
    return changed;
  }

  list(): SweepView[] {
    return [...this.sweeps.values()].map((s) => s.view).sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): SweepState | undefined {
    return this.sweeps.get(id);
  }

  private walk(dir: string, depth: number, runs: string[], sweeps: Set<string>): void {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const names = new Set(entries.map((e) => e.name));
    if (names.has('sweep.json')) sweeps.add(dir);
    if (names.has('run.json') || names.has('metrics.csv')) {
      runs.push(dir);
      return;
    }
    if (depth >= MAX_DEPTH) return;
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith('.') && !SKIP_DIRS.has(e.name)) this.walk(join(dir, e.name), depth + 1, runs, sweeps);
    }
  }

  private sweepOf(runDir: string, sweepDirs: Set<string>): string {
    for (let d = dirname(runDir); d.length >= this.root.length; d = dirname(d)) {
      if (sweepDirs.has(d)) return d;
      if (d === this.root) break;
    }
    return runDir === this.root ? this.root : dirname(runDir);
  }

  /** Parse a file through `read` when its size or mtime changed; keep the last good value when reading fails. */
  private cached<T>(path: string, read: (p: string) => T): { value: T | null; key: string } {
    let key: string;
    try {
      const s = statSync(path);
      key = `${s.size}:${s.mtimeMs}`;
    } catch {
      this.cache.delete(path);
      return { value: null, key: '-' };
    }
    const c = this.cache.get(path) as Cached<T> | undefined;
    if (c && c.key === key) return { value: c.value, key };
    try {
      const value = read(path);
      this.cache.set(path, { key, value });
      return { value, key };
    } catch {
      return { value: c?.value ?? null, key: c ? key : `${key}:bad` };
    }
  }

  private rel(p: string): string {
    return relative(this.root, p) || '.';
  }

  private buildSweep(dir: string, runDirs: string[]): SweepState {
    const keys: string[] = [];
    const sweepJson = this.cached(join(dir, 'sweep.json'), () => readSweepJson(dir));
    keys.push(sweepJson.key);
    const views: RunView[] = [];
    const data: RunData[] = [];
    for (const rd of runDirs.sort()) {
      const info = this.cached(join(rd, 'run.json'), readRunInfo);
      const metrics = this.cached(join(rd, 'metrics.csv'), (p) => parseMetricsText(readFileSync(p, 'utf8')));
      keys.push(info.key, metrics.key);
      const rows = metrics.value?.rows ?? [];
      const name = info.value?.name ?? (relative(dir, rd) || basename(rd));
      const changed = Math.max(...[info.key, metrics.key].map((k) => Number(k.split(':')[1] ?? NaN)).filter(Number.isFinite));
      const view = runView(name, this.rel(rd), info.value ? { ...info.value, name } : null, rows, metrics.value?.skipped ?? 0);
      view.quiet_s = Number.isFinite(changed) ? Math.max(0, (Date.now() - changed) / 1000) : null;
      views.push(view);
      if (info.value) data.push({ dir: rd, info: { ...info.value, name }, rows });
    }
    // runs planned in sweep.json that have no folder yet
    const have = new Set(views.map((v) => v.name));
    for (const r of sweepJson.value?.runs ?? []) {
      if (typeof r?.name !== 'string' || have.has(r.name)) continue;
      views.push({
        name: r.name, dir: '', status: 'pending', step: 0, steps: r.steps ?? 0, progress: 0, eta_s: null,
        params_total: r.params_total ?? null, params_non_embedding: r.params_non_embedding ?? null,
        backend: null, tokens_per_s: null, val_loss: null, rows: 0, skipped_rows: 0, quiet_s: null,
      });
    }
    views.sort((a, b) => (a.params_total ?? Infinity) - (b.params_total ?? Infinity) || a.name.localeCompare(b.name));
    const fitPath = join(dir, 'fit.json');
    const fitKey = this.cached(fitPath, (p) => statSync(p).size).key;
    keys.push(fitKey);
    const plotsDir = join(dir, 'plots');
    let plots: string[] = [];
    try {
      plots = readdirSync(plotsDir).filter((f) => /\.(png|svg)$/.test(f) && !f.startsWith('.')).sort();
      const pngs = new Set(plots.filter((f) => f.endsWith('.png')).map((f) => f.slice(0, -4)));
      plots = plots
        .filter((f) => f.endsWith('.png') || !pngs.has(f.slice(0, -4)))
        .map((f) => this.rel(join(plotsDir, f)))
        .filter((rel) => resolveInside(this.root, rel.split(sep).map(encodeURIComponent).join('/')) !== null); // not symlinks out of the folder
      keys.push(...plots);
    } catch {
      // no plots yet
    }
    const report = join(dir, 'report.html');
    const reportKey = this.cached(report, (p) => statSync(p).size).key;
    keys.push(reportKey);
    const view: SweepView = {
      id: this.rel(dir),
      name: typeof sweepJson.value?.name === 'string' ? sweepJson.value.name : dir === this.root ? basename(dir) : this.rel(dir),
      kind: typeof sweepJson.value?.kind === 'string' ? sweepJson.value.kind : null,
      runs: views,
      fit_json: existsSync(fitPath) ? this.rel(fitPath) : null,
      report_html: existsSync(report) ? this.rel(report) : null,
      plots,
      version: hashKeys(keys),
    };
    return { view, data, dir };
  }
}

function runView(name: string, dir: string, info: RunInfo | null, rows: MetricRow[], skipped: number): RunView {
  const last = rows[rows.length - 1];
  const steps = Number(info?.train?.steps ?? 0);
  const step = last?.step ?? 0;
  const status: RunStatus = info?.status ?? (rows.length > 0 ? 'running' : 'pending');
  const lastVal = [...rows].reverse().find((r) => Number.isFinite(r.val_loss));
  const rate = last && last.step > 0 && Number.isFinite(last.elapsed_s) ? last.elapsed_s / last.step : NaN;
  const backend = info?.backend as { name?: string; device?: string } | undefined;
  return {
    name,
    dir,
    status,
    step,
    steps,
    progress: status === 'finished' ? 1 : steps > 0 ? Math.min(1, step / steps) : 0,
    eta_s: status === 'running' && Number.isFinite(rate) ? Math.max(0, (steps - step) * rate) : null,
    params_total: info?.params_total ?? null,
    params_non_embedding: info?.params_non_embedding ?? null,
    backend: backend?.name ? backend.name + (backend.device ? ` (${backend.device})` : '') : null,
    tokens_per_s: last && Number.isFinite(last.tokens_per_s) ? last.tokens_per_s : null,
    val_loss: lastVal ? lastVal.val_loss : null,
    rows: rows.length,
    skipped_rows: skipped,
    quiet_s: null,
  };
}

/** A short stable digest of the file keys (FNV-1a). */
function hashKeys(keys: string[]): string {
  let h = 0x811c9dc5;
  for (const k of keys) {
    for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 124, 0x01000193);
  }
  return (h >>> 0).toString(16);
}
