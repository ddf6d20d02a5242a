/**
 * The plots end to end on the fixture sweeps (test/fixtures/plot, made from a
 * known law by make-fixtures.ts): every file is a valid PNG / SVG of the right
 * size, and every graph plots exactly as many points as there are CSV rows
 * (or fit entries) behind it — counted in the SVG for symbols, in vega's
 * scenegraph for line vertices.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitSweep, loadRuns } from '../src/fit/index.ts';
import type { FitReport } from '../src/fit/types.ts';
import { parseFormats } from '../src/cli/commands/plot.ts';
import { staleReason } from '../src/plot/fitFile.ts';
import { GRAPHS, plotSweep, type PlotSweepResult } from '../src/plot/index.ts';
import { writeJsonAtomic } from '../src/util/atomic.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'plot');
const SCALE = 2;

// ---- independent readers: the CSV text and the files as a viewer sees them ----

/** Rows of a fixture's metrics.csv as {column: cell} (plain split: the fixture has no quoting). */
function csvRows(file: string): Record<string, string>[] {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((c, i) => [cols[i]!, c])));
}

function fixtureCsvs(sweep: string): Record<string, string>[][] {
  const dir = join(FIXTURES, sweep);
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'metrics.csv')))
    .map((d) => csvRows(join(dir, d, 'metrics.csv')));
}

/** PNG signature and IHDR width/height. */
function pngSize(buf: Buffer): { width: number; height: number } {
  expect([...buf.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(buf.toString('ascii', 12, 16)).toBe('IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

type XNode = Record<string, unknown> & { ':@'?: Record<string, string> };
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', preserveOrder: true, parseTagValue: false, parseAttributeValue: false });

function tagOf(n: XNode): string {
  return Object.keys(n).find((k) => k !== ':@')!;
}

/** Children elements of every <g> whose class names `<layer>_marks`, summed (one per plotted symbol). */
function svgMarkCount(svg: string, layer: string): number {
  let count = 0;
  const walk = (nodes: XNode[]) => {
    for (const n of nodes) {
      const tag = tagOf(n);
      const kids = (n[tag] as XNode[]) ?? [];
      const cls = n[':@']?.class ?? '';
      if (tag === 'g' && cls.split(/\s+/).includes(`${layer}_marks`)) count += kids.filter((k) => tagOf(k) !== '#text').length;
      else if (Array.isArray(kids)) walk(kids);
    }
  };
  walk(parser.parse(svg) as XNode[]);
  return count;
}

/** The strings of every <text> element, in document order. */
function svgTexts(svg: string): string[] {
  const out: string[] = [];
  const walk = (nodes: XNode[], inText: boolean) => {
    for (const n of nodes) {
      const tag = tagOf(n);
      if (tag === '#text' && inText) out.push(String(n[tag]));
      else if (Array.isArray(n[tag])) walk(n[tag] as XNode[], tag === 'text');
    }
  };
  walk(parser.parse(svg) as XNode[], false);
  return out;
}

function svgRootSize(svg: string): { width: number; height: number } {
  const root = (parser.parse(svg) as XNode[]).find((n) => tagOf(n) === 'svg')!;
  return { width: Number(root[':@']!.width), height: Number(root[':@']!.height) };
}

// ---- the fixture sweeps, copied to a temp dir with a fit.json newer than the data ----

let tmp: string;
const results: Record<string, PlotSweepResult> = {};
const fits: Record<string, FitReport> = {};

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'plot-test-'));
  for (const sweep of ['size-sweep', 'isoflop-sweep']) {
    const dir = join(tmp, sweep);
    cpSync(join(FIXTURES, sweep), dir, { recursive: true });
    // the coarse Approach-3 grid keeps the test quick; plotSweep then reads this fit.json
    // size-sweep has one schedule length: only --points all gives graph 6 an Approach-3 fit to draw
    fits[sweep] = fitSweep(loadRuns(dir), { n: 'total', grid: 'coarse', sweepDir: dir, points: sweep === 'size-sweep' ? 'all' : 'final' });
    writeJsonAtomic(join(dir, 'fit.json'), fits[sweep]);
    results[sweep] = await plotSweep(dir, { formats: ['svg', 'png'], scale: SCALE });
  }
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.each(['size-sweep', 'isoflop-sweep'])('%s', (sweep) => {
  it('reads the current fit.json instead of fitting again', () => {
    expect(results[sweep]!.fitNote).toBe('read from fit.json');
    expect(results[sweep]!.fitWritten).toBe(false);
  });

  it('writes a valid SVG and PNG of matching size for all six graphs', () => {
    const r = results[sweep]!;
    expect(r.graphs.map((g) => g.id)).toEqual(GRAPHS.map((g) => g.id));
    for (const g of r.graphs) {
      expect(g.skipped, g.id).toBeUndefined();
      const svg = readFileSync(join(r.sweepDir, 'plots', `${g.id}.svg`), 'utf8');
      expect(XMLValidator.validate(svg), g.id).toBe(true);
      const size = svgRootSize(svg);
      expect(size).toEqual({ width: g.width, height: g.height });
      expect(size.width).toBeGreaterThanOrEqual(720);
      const png = pngSize(readFileSync(join(r.sweepDir, 'plots', `${g.id}.png`)));
      expect(png).toEqual({ width: Math.round(size.width * SCALE), height: Math.round(size.height * SCALE) });
      // text is drawn in the shipped font family
      expect(svg).toContain('font-family="DejaVu Sans"');
    }
  });

  it('plots one point per CSV row', () => {
    const r = results[sweep]!;
    const csvs = fixtureCsvs(sweep);
    const svg = (id: string) => readFileSync(join(r.sweepDir, 'plots', `${id}.svg`), 'utf8');
    const marks = (id: string) => r.graphs.find((g) => g.id === id)!.marks!;

    // graph 1: every row with a val_loss; the isoflop sweep's step axis is logarithmic, so step 0 is left out there
    const logSteps = sweep === 'isoflop-sweep';
    const g1 = csvs.flat().filter((row) => row.val_loss !== '' && (!logSteps || Number(row.step) > 0)).length;
    expect(g1).toBe(sweep === 'size-sweep' ? 4 * 21 : 15 * 12); // hand count: runs × evaluations
    expect(svgMarkCount(svg('1-loss-vs-step'), 'points')).toBe(g1);
    expect(marks('1-loss-vs-step').lines).toBe(g1);

    // graphs 2 and 3: rows with compute > 0 (step 0 has none), on log axes
    const g2 = csvs.flat().filter((row) => Number(row.flops_6nd) > 0 && row.val_loss !== '').length;
    expect(g2).toBe(sweep === 'size-sweep' ? 4 * 20 : 15 * 12);
    expect(svgMarkCount(svg('2-loss-vs-compute'), 'points')).toBe(g2);
    expect(marks('2-loss-vs-compute').fits).toBe(2 * fits[sweep]!.per_run.length); // two ends per fitted line
    expect(svgMarkCount(svg('3-compute-frontier'), 'points')).toBe(g2);
    expect(marks('3-compute-frontier').envelope).toBe(fits[sweep]!.approach1.envelope.length);

    // graph 4: one point per run and budget, one diamond per parabola minimum
    const a2 = fits[sweep]!.approach2;
    const profilePoints = a2.profiles.reduce((s, p) => s + p.points.length, 0);
    if (sweep === 'isoflop-sweep') expect(profilePoints).toBe(csvs.length); // each run is one point of its budget's profile
    expect(svgMarkCount(svg('4-isoflop-profiles'), 'points')).toBe(profilePoints);
    expect(svgMarkCount(svg('4-isoflop-profiles'), 'minima')).toBe(a2.profiles.filter((p) => p.n_opt !== null).length);

    // graph 5: envelope points and IsoFLOP minima in both panels
    for (const panel of ['N', 'D']) {
      expect(svgMarkCount(svg('5-optimal-allocation'), `${panel}_envelope`)).toBe(fits[sweep]!.approach1.envelope.length);
      expect(svgMarkCount(svg('5-optimal-allocation'), `${panel}_minima`)).toBe(a2.profiles.filter((p) => p.n_opt !== null).length);
    }

    // graph 6: one circle per run
    expect(svgMarkCount(svg('6-loss-surface'), 'runs')).toBe(csvs.length);
  });

  it('labels models by parameter count, fits by slope and R², and log ticks as 1e15', () => {
    const r = results[sweep]!;
    const fit = fits[sweep]!;
    const texts = (id: string) => svgTexts(readFileSync(join(r.sweepDir, 'plots', `${id}.svg`), 'utf8'));
    const g1 = texts('1-loss-vs-step');
    expect(g1).toContain('training step (optimizer updates)');
    expect(g1).toContain('validation loss (nats/token)');
    const expected = sweep === 'size-sweep' ? ['370K params', '1.33M params', '5.82M params', '12.3M params'] : ['370K params · C=1e15', '59.9M params · C=1e17'];
    for (const label of expected) expect(g1).toContain(label);

    const g2 = texts('2-loss-vs-compute');
    expect(g2).toContain('compute (FLOPs, 6ND)');
    for (const f of fit.per_run) {
      const tail = `: slope ${f.slope.toFixed(3).replace('-', '−')}, R² ${f.r2.toFixed(3)}`;
      expect(g2.some((t) => t.endsWith(tail)), tail).toBe(true);
    }
    // compute ticks read as 1e15, 2e15 … (no "1e+15", no "1,000,000,000,000,000")
    const ticks = g2.filter((t) => /^[\d.]+e\d+$/.test(t));
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(g2.some((t) => t.includes('e+') || /\d,\d{3},\d{3}/.test(t))).toBe(false);
  });

  it('writes report.md with linked images and a self-contained report.html', () => {
    const r = results[sweep]!;
    const md = readFileSync(r.reportMd, 'utf8');
    const html = readFileSync(r.reportHtml, 'utf8');
    for (const g of GRAPHS) expect(md).toContain(`](plots/${g.id}.png)`);
    const runTable = md.slice(md.indexOf('## Runs'), md.indexOf('## Fits'));
    expect(runTable.match(/^\| (d\d+l\d+|C1e1\d-d\d+l\d+) /gm)?.length).toBe(fixtureCsvs(sweep).length); // one row per run
    expect(md).toContain('Approach 3: parametric fit');
    expect(XMLValidator.validate(html.replace('<!DOCTYPE html>', ''), { unpairedTags: ['meta', 'img'] })).toBe(true);
    expect(html.match(/<img [^>]*src="data:image\/png;base64,/g)?.length).toBe(GRAPHS.length);
    expect(html).not.toContain('src="plots/');
    // the summary names the per-run slope for what it is, and the run table counts workers
    expect(md).toContain("not Kaplan et al.'s α_C");
  });

  it('shows an exponent in the summary only where the design identifies it', () => {
    const md = readFileSync(results[sweep]!.reportMd, 'utf8');
    const summary = md.slice(md.indexOf('## Summary'), md.indexOf('## Plots'));
    const row = (name: string) => summary.split('\n').find((l) => l.startsWith(`| ${name}`))!;
    if (sweep === 'size-sweep') {
      // one schedule length for every run: no bare Approach-1/2/3 number
      for (const a of ['Approach 1', 'Approach 2', 'Approach 3']) expect(row(a)).toMatch(/not identifiable: /);
      expect(row('Approach 1')).toMatch(/all runs share one schedule length/);
      expect(row('Approach 3')).toMatch(/--points all/);
      expect(summary).toMatch(/Agreement: fewer than two approaches are identified/);
    } else {
      expect(row('Approach 2')).toMatch(/\| \d\.\d{3}/);
    }
  });
});

describe('graphs that do not apply', () => {
  it('are skipped with a note in the report, not an error', async () => {
    const dir = join(tmp, 'no-budgets');
    cpSync(join(FIXTURES, 'size-sweep'), dir, { recursive: true });
    const fit: FitReport = {
      ...fits['size-sweep']!,
      approach2: { ...fits['size-sweep']!.approach2, profiles: [], n_opt: null, d_opt: null },
      approach3: null,
      warnings: ['approach 3: fewer than 5 points'],
    };
    writeJsonAtomic(join(dir, 'fit.json'), fit);
    const r = await plotSweep(dir, { formats: ['svg'] });
    const skipped = r.graphs.filter((g) => g.skipped).map((g) => g.id);
    expect(skipped).toEqual(['4-isoflop-profiles', '6-loss-surface']);
    expect(existsSync(join(dir, 'plots', '4-isoflop-profiles.svg'))).toBe(false);
    expect(existsSync(join(dir, 'plots', '1-loss-vs-step.png'))).toBe(false); // svg only
    const md = readFileSync(r.reportMd, 'utf8');
    expect(md.match(/Not drawn: /g)?.length).toBe(2);
    expect(md).toContain('Not drawn: no Approach-3 fit: approach 3: fewer than 5 points.');
    // without PNGs the report inlines the SVGs
    expect(readFileSync(r.reportHtml, 'utf8').match(/src="data:image\/svg\+xml;base64,/g)?.length).toBe(GRAPHS.length - 2);
  });
});

describe('fit.json freshness', () => {
  it('is stale once a run’s metrics.csv is newer', () => {
    const dir = join(tmp, 'size-sweep');
    const runs = loadRuns(dir);
    expect(staleReason(dir, runs, fits['size-sweep']!)).toBeNull();
    const later = new Date(statSync(join(dir, 'fit.json')).mtimeMs + 60_000);
    utimesSync(join(dir, 'd128l4', 'metrics.csv'), later, later);
    expect(staleReason(dir, runs, fits['size-sweep']!)).toBe('fit.json is older than d128l4/metrics.csv');
  });

  it('is stale when it lacks one of the runs', () => {
    const dir = join(tmp, 'isoflop-sweep');
    const fit = fits['isoflop-sweep']!;
    const partial = { ...fit, runs: fit.runs.filter((r) => r.run !== 'C1e16-d256l6') };
    expect(staleReason(dir, loadRuns(dir), partial)).toBe('fit.json does not include C1e16-d256l6');
  });
});

describe('plot --format', () => {
  it('accepts svg and png in any order and case', () => {
    expect(parseFormats('svg,png')).toEqual(['svg', 'png']);
    expect(parseFormats(' PNG ')).toEqual(['png']);
    expect(parseFormats('png,png,svg')).toEqual(['png', 'svg']);
  });
  it('names the flag and the choices on bad input', () => {
    expect(() => parseFormats('pdf')).toThrow('--format: "pdf" is not an image format; give a comma-separated list of svg, png');
    expect(() => parseFormats(',')).toThrow('--format: empty');
  });
});
