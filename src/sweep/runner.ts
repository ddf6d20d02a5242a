import { join, resolve } from 'node:path';
import { readRunStatus, writeSweepJson as writeSweepFile, type RunStatus, type SweepRunState } from '../artifacts/index.ts';
import type { BackendProfile } from '../backend.ts';
import { trainRun, type TrainHooks } from '../train/trainer.ts';
import { composeHooks } from '../util/hooks.ts';
import { writeFitJson } from '../artifacts/fitJson.ts';
import { formatTable } from '../util/table.ts';
import { fmtDuration, multiProgress } from '../util/progress.ts';
import type { DataOptions } from '../data/index.ts';
import type { PlannedRun, SweepPlan } from './config.ts';
import { tryLock } from './lock.ts';
import { estimateRuns } from './estimate.ts';
import { checkOutputDir, checkResources, prepareSweepData, type PreparedSplits } from './preflight.ts';
import { isUserError } from '../util/errors.ts';

export interface SweepOptions {
  plan: SweepPlan;
  sweepDir: string;
  data: Omit<DataOptions, 'dataset'>;
  shard?: { index: number; count: number };
  /** timed steps per distinct model shape for the wall-time estimate (0: no estimate) */
  estimateSteps: number;
  /** run the fit and plots when every run is finished */
  fit: boolean;
  shouldStop?: () => boolean;
  quiet?: boolean;
  /** print the plan and return without writing or training anything */
  dryRun?: boolean;
  /** data-parallel workers per run ('auto' or absent: the backend profile's defaultWorkers) */
  workers?: number | 'auto';
  /** extra TrainHooks per run, called after the runner's own (e.g. TensorBoard; composed by the CLI) */
  runHooks?: (run: { name: string; dir: string }) => TrainHooks;
  /** seconds the wall-time calibration may take (default 10) */
  estimateBudgetS?: number;
  /** print each calibration step's times (the CLI sets it from CHINCHILLA_DEBUG_ESTIMATE) */
  debugEstimate?: boolean;
  /**
   * Called with the plan's estimated seconds after the plan is printed and before anything is
   * written; false: return without starting (e.g. the user declined a long CPU plan).
   */
  confirm?: (estimateS: number) => Promise<boolean>;
  /**
   * Told when training starts (true; after the checks passed and sweep.json was written) and ends
   * (false), e.g. to arm the Ctrl-C handler or start the dashboard.
   */
  onTrainingPhase?: (training: boolean) => void | Promise<void>;
}

export type { SweepRunState } from '../artifacts/index.ts';

export interface SweepResult {
  runs: SweepRunState[];
  /** true when every run of the sweep (all shards) has finished */
  complete: boolean;
  stopped: boolean;
  /** the pre-flight problems found (dry run only: otherwise the first one is thrown) */
  problems?: string[];
  /** true when confirm() declined */
  declined?: boolean;
}

function runStatus(dir: string): RunStatus {
  return readRunStatus(dir);
}

/** Write runs/<sweep>/sweep.json from the runs' own run.json files (the source of truth, so shards can share it). */
export function writeSweepJson(o: SweepOptions, states: SweepRunState[]): void {
  writeSweepFile(o.sweepDir, {
    schema_version: 1,
    name: o.plan.name,
    kind: o.plan.kind,
    file: o.plan.file,
    config: o.plan.raw,
    skipped: o.plan.skipped,
    updated_at: new Date().toISOString(),
    runs: states.map((s) => ({ ...s, status: runStatus(s.dir) })),
  });
}

const fmtInt = (n: number) => n.toLocaleString('en-US');

/**
 * Run a sweep: print the plan, train every pending run of this shard (resuming
 * unfinished ones, skipping finished ones and those another process holds),
 * then fit and plot when the whole sweep is done.
 */
export async function runSweep(o: SweepOptions, backend: BackendProfile): Promise<SweepResult> {
  const wallStart = performance.now();
  const { plan } = o;
  const mp = multiProgress({ quiet: o.quiet });
  const log = (m: string) => (o.quiet ? undefined : process.stderr.write(m + '\n'));
  const states: SweepRunState[] = plan.runs.map((r) => {
    const dir = join(o.sweepDir, r.name);
    return {
      name: r.name,
      index: r.index,
      dir,
      status: runStatus(dir),
      params_total: r.params_total,
      params_non_embedding: r.params_non_embedding,
      steps: r.train.steps,
      tokens: r.tokens,
      flops_6nd: r.flops_6nd,
      ...(r.budget_flops !== undefined ? { budget_flops: r.budget_flops } : {}),
    };
  });
  const mine = plan.runs.filter((r) => !o.shard || r.index % o.shard.count === o.shard.index);

  // ---- fail fast, cheapest first: nothing is written under the sweep folder until these pass ----
  const problems: string[] = [];
  const check = async <T>(f: () => T | Promise<T>): Promise<T | undefined> => {
    try {
      return await f();
    } catch (e) {
      if (!o.dryRun || !isUserError(e)) throw e;
      problems.push(e.message);
      return undefined;
    }
  };
  await check(() => checkOutputDir(o.sweepDir));
  const pendingMine = mine.filter((r) => states[r.index]!.status !== 'finished');
  const splits: PreparedSplits[] = (await check(() => prepareSweepData(pendingMine, o.data))) ?? [];
  const notes = (await check(() => checkResources(pendingMine, o.sweepDir, backend, o.workers))) ?? [];

  let estimateNote = '';
  if (o.estimateSteps > 0 && pendingMine.length > 0) {
    const est = await estimateRuns(pendingMine, backend, {
      budgetS: o.estimateBudgetS,
      workers: o.workers,
      validationTokens: (r) => splits.find((s) => s.tokenizer === r.train.tokenizer && s.dataset === r.train.dataset)?.validationTokens,
      log,
      debug: o.debugEstimate ? log : undefined,
    });
    for (const [i, e] of est.runs) states[i]!.est_s = e.seconds;
    estimateNote =
      ` (calibrated in ${est.calibrationSeconds.toFixed(1)} s on ${backend.name}: ${est.timedShapes} of ${est.shapes} model shape(s) timed` +
      (est.scaledFrom ? `, the others scaled by FLOPs from ${est.scaledFrom}` : '') +
      ')';
  }

  // ---- the plan -------------------------------------------------------------
  const header = ['run', 'params', 'non-emb', 'steps', 'tokens', 'FLOPs (6ND)', 'est. time', 'status'];
  const rows = plan.runs.map((r) => {
    const s = states[r.index]!;
    const inShard = mine.includes(r);
    return [
      r.name,
      fmtInt(r.params_total),
      fmtInt(r.params_non_embedding),
      fmtInt(r.train.steps),
      fmtInt(r.tokens),
      r.flops_6nd.toExponential(2),
      s.est_s !== undefined ? fmtDuration(s.est_s) : s.status === 'finished' ? '-' : '?',
      inShard ? s.status : `${s.status} (other shard)`,
    ];
  });
  const totalEst = mine.reduce((a, r) => a + (states[r.index]!.est_s ?? 0), 0);
  log(
    `\nSweep "${plan.name}" (${plan.kind}, ${plan.runs.length} runs${o.shard ? `, shard ${o.shard.index}/${o.shard.count}: ${mine.length} runs` : ''}) → ${o.sweepDir}\n` +
      `backend ${backend.name} (${backend.device})\n\n` +
      formatTable(header, rows) +
      (plan.skipped.length ? `\n\nleft out: ${plan.skipped.join('; ')}` : '') +
      (totalEst > 0 ? `\n\nestimated wall time for the pending runs: ${fmtDuration(totalEst)} ${estimateNote}` : '') +
      (notes.length ? `\n${notes.join('\n')}` : '') +
      '\n',
  );
  if (o.dryRun) {
    mp.stop();
    if (problems.length) log(`\nThe sweep could not start:\n${problems.map((p) => `  - ${p.replace(/\n/g, '\n    ')}`).join('\n')}`);
    else log('Dry run: every check passed; nothing was written.');
    return { runs: states, complete: states.every((s) => s.status === 'finished'), stopped: false, problems };
  }
  if (o.confirm && !(await o.confirm(totalEst))) {
    mp.stop();
    return { runs: states, complete: false, stopped: false, declined: true };
  }
  writeSweepJson(o, states);
  await o.onTrainingPhase?.(true);

  // ---- train ----------------------------------------------------------------
  // The sweep bar counts work, not steps: with timing estimates each step weighs its run's measured
  // seconds per step, so the ETA stays honest while the bigger, slower runs are still to come.
  const pending = mine.filter((r) => states[r.index]!.status !== 'finished');
  const timed = pending.length > 0 && pending.every((r) => states[r.index]!.est_s !== undefined);
  const perStep = (r: PlannedRun) => {
    const est = states[r.index]!.est_s;
    return timed ? (est !== undefined ? est / r.train.steps : 0) : 1;
  };
  const totalWork = Math.max(1, Math.round(mine.reduce((a, r) => a + perStep(r) * r.train.steps, 0)));
  const sweepBar = mp.create(`sweep ${plan.name}${timed ? ' (est. s)' : ' (steps)'}`.padEnd(18), totalWork, 'run {run}');
  const work = (r: PlannedRun, steps: number) => Math.round(perStep(r) * steps);
  let doneBefore = 0;
  let stopped = false;
  for (const r of mine) {
    const st = states[r.index]!;
    if (o.shouldStop?.()) {
      stopped = true;
      break;
    }
    if (runStatus(st.dir) === 'finished') {
      doneBefore += work(r, r.train.steps);
      sweepBar.update(Math.min(doneBefore, totalWork), { run: `${r.name} (done)` });
      continue;
    }
    const got = tryLock(st.dir);
    if ('heldBy' in got) {
      const h = got.heldBy;
      mp.log(`${r.name}: skipped, another process is training it${h ? ` (pid ${h.pid} on ${h.host} since ${h.since})` : ''}.`);
      doneBefore += work(r, r.train.steps);
      continue;
    }
    const lock = got.lock;
    let runBar: ReturnType<typeof mp.create> | null = null;
    let lastRefresh = Date.now();
    try {
      const res = await trainRun(
        {
          name: r.name,
          model: r.model,
          modelSource: r.modelSource,
          train: r.train,
          data: o.data,
          outDir: st.dir,
          resume: true,
          workers: o.workers,
          extraInfo: { sweep: plan.name, ...(r.budget_flops !== undefined ? { budget_flops: r.budget_flops } : {}) },
        },
        backend,
        composeHooks({
          onStart: ({ startStep }) => {
            runBar = mp.create(`  ${r.name}`.padEnd(18), r.train.steps, 'loss {loss} val {val} {tps} tok/s');
            runBar.update(startStep);
            sweepBar.update(Math.min(doneBefore + work(r, startStep), totalWork), { run: r.name });
          },
          onStep: (e) => {
            runBar?.update(e.step, { loss: e.loss.toFixed(3), tps: Math.round(e.tokensPerS) });
            sweepBar.update(Math.min(doneBefore + work(r, e.step), totalWork), { run: r.name });
            if (Date.now() - lastRefresh > 30_000) {
              lock.refresh();
              lastRefresh = Date.now();
            }
          },
          onEval: (row) => runBar?.update(row.step, { val: row.val_loss.toFixed(3) }),
          shouldStop: o.shouldStop,
          log: (m) => mp.log(m),
        }, o.runHooks?.({ name: r.name, dir: st.dir })),
      );
      st.status = res.status;
      const last = res.rows[res.rows.length - 1];
      const evalNote = last ? `, val loss ${last.val_loss.toFixed(4)}` : '';
      mp.log(
        res.status === 'interrupted'
          ? `${r.name}: interrupted (${res.info.message ?? 'stopped'}${last ? `; last evaluation at step ${last.step}${evalNote}` : ''})`
          : `${r.name}: ${res.status}${last ? ` at step ${last.step}${evalNote}` : ''}`,
      );
      if (res.status === 'interrupted') stopped = true;
    } finally {
      (runBar as { stop(): void } | null)?.stop();
      lock.release();
      writeSweepJson(o, states);
    }
    doneBefore += work(r, r.train.steps);
    if (stopped) break;
  }
  sweepBar.stop();
  mp.stop();
  await o.onTrainingPhase?.(false);

  for (const s of states) s.status = runStatus(s.dir);
  writeSweepJson(o, states);
  const complete = states.every((s) => s.status === 'finished');
  const unfinished = states.filter((s) => s.status !== 'finished');
  if (stopped) {
    log(`\nStopped. Run the same command again to continue where it left off.`);
  } else if (!complete) {
    log(
      `\n${unfinished.length} run(s) not finished: ${unfinished.map((s) => `${s.name} (${s.status})`).join(', ')}.` +
        (o.shard ? ' Other shards may still be training them.' : ' Run the same command again to retry them.'),
    );
  }
  if (complete && o.fit && !stopped) await fitAndPlot(o.sweepDir, log);
  const wall = (performance.now() - wallStart) / 1000;
  log(`\nwall time: ${fmtDuration(wall)} (checks, estimate, training${complete && o.fit && !stopped ? ', fit and plots' : ''})${totalEst > 0 ? `; estimated ${fmtDuration(totalEst)} for the training` : ''}`);
  return { runs: states, complete, stopped };
}

/** Fit the scaling laws and draw the plots of a finished sweep (modules loaded lazily). */
export async function fitAndPlot(sweepDir: string, log: (m: string) => void): Promise<void> {
  const dir = resolve(sweepDir);
  try {
    const fit = await import('../fit/index.ts');
    const report = fit.fitSweep(fit.loadRuns(dir), { n: 'total', sweepDir: dir });
    writeFitJson(join(dir, 'fit.json'), report);
    log(`fit: ${join(dir, 'fit.json')}`);
    for (const w of report.warnings) log(`  warning: ${w}`);
  } catch (e) {
    log(`fit failed: ${(e as Error).message}\n  run it yourself with: npx chinchilla fit ${sweepDir}`);
    return;
  }
  try {
    const plot = await import('../plot/index.ts');
    await plot.plotSweep(dir, {});
    log(`plots: ${join(dir, 'plots')}  report: ${join(dir, 'report.html')}`);
  } catch (e) {
    log(`plots failed: ${(e as Error).message}\n  run them yourself with: npx chinchilla plot ${sweepDir}`);
  }
}

export function sweepDirFor(plan: SweepPlan, out?: string): string {
  return resolve(out ?? join('runs', plan.name));
}

