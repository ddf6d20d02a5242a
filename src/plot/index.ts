/**
 * Plots and report of a sweep:
 *
 *   runs/<sweep>/plots/<n>-<name>.svg|png   the six graphs (those that apply)
 *   runs/<sweep>/report.md                  summary, plots (linked), run and fit tables
 *   runs/<sweep>/report.html                the same, self-contained (images inlined)
 *
 * The fit comes from fit.json when it is current, else fitSweep runs (see fitFile.ts).
 */
import { readSweepJson } from '../artifacts/sweepJson.ts';
import { basename, join, resolve } from 'node:path';
import { loadRuns } from '../fit/index.ts';
import type { FitReport, FlopsColumn, ParamCount } from '../fit/types.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { toHtml, toMarkdown } from './doc.ts';
import { loadOrFit } from './fitFile.ts';
import { GRAPHS } from './graphs/index.ts';
import { renderSvg, svgToPng } from './render.ts';
import { reportBlocks, type ReportGraph } from './report.ts';

export { GRAPHS, type Graph } from './graphs/index.ts';
export { renderSvg, svgToPng, type RenderedSvg } from './render.ts';
export { loadOrFit, type FitChoice } from './fitFile.ts';
export { FONT_FAMILY, FONT_FILES } from './fonts.ts';

export type ImageFormat = 'svg' | 'png';
export const IMAGE_FORMATS: readonly ImageFormat[] = ['svg', 'png'];

export interface PlotOptions {
  /** parameter count for the fit and labels; default: fit.json's, else 'total' */
  n?: ParamCount;
  /** compute column; default: fit.json's, else 'flops_6nd' */
  flops?: FlopsColumn;
  /** image files to write; default both. The report inlines PNG when written, else SVG. */
  formats?: ImageFormat[];
  /** PNG pixels per SVG unit; default 2 (a 720-wide graph gives a 1440-pixel PNG) */
  scale?: number;
  /** fit again even when fit.json is current */
  refit?: boolean;
  /** progress lines (default: none) */
  log?: (msg: string) => void;
}

export interface PlottedGraph {
  id: string;
  title: string;
  /** files written (absolute paths); empty when skipped */
  files: string[];
  skipped?: string;
  width?: number;
  height?: number;
  /** plotted items per named mark layer (see renderSvg) */
  marks?: Record<string, number>;
}

export interface PlotSweepResult {
  sweepDir: string;
  fit: FitReport;
  fitNote: string;
  fitWritten: boolean;
  graphs: PlottedGraph[];
  reportMd: string;
  reportHtml: string;
}

function sweepName(dir: string): string {
  try {
    return readSweepJson(dir)?.name || basename(dir);
  } catch {
    return basename(dir); // a broken sweep.json only costs the title
  }
}

/** Fit (or read fit.json), draw every graph that applies, write the report. */
export async function plotSweep(sweepDir: string, opts: PlotOptions = {}): Promise<PlotSweepResult> {
  const dir = resolve(sweepDir);
  const log = opts.log ?? (() => {});
  const formats = opts.formats ?? ['svg', 'png'];
  const scale = opts.scale ?? 2;
  const runs = loadRuns(dir);
  const choice = loadOrFit(dir, runs, { n: opts.n, flops: opts.flops, refit: opts.refit });
  const fit = choice.report;
  const fitNote = choice.source === 'read' ? 'read from fit.json' : `fitted now (${choice.reason})${choice.written ? ', fit.json written' : ''}`;
  log(`fit: ${fitNote}; made with ${choice.conventions}`);

  const plotsDir = join(dir, 'plots');
  const graphs: PlottedGraph[] = [];
  const forReport: ReportGraph[] = [];
  for (const g of GRAPHS) {
    const skipped = g.skip(runs, fit);
    if (skipped) {
      log(`${g.id}: skipped (${skipped})`);
      graphs.push({ id: g.id, title: g.title, files: [], skipped });
      forReport.push({ id: g.id, title: g.title, caption: g.caption, skipped });
      continue;
    }
    const r = await renderSvg(g.spec(runs, fit));
    const files: string[] = [];
    let image: ReportGraph['image'];
    if (formats.includes('svg')) {
      const p = join(plotsDir, `${g.id}.svg`);
      writeFileAtomic(p, r.svg);
      files.push(p);
      image = { src: `plots/${g.id}.svg`, dataUri: `data:image/svg+xml;base64,${Buffer.from(r.svg).toString('base64')}`, width: r.width };
    }
    if (formats.includes('png')) {
      const png = svgToPng(r.svg, scale);
      const p = join(plotsDir, `${g.id}.png`);
      writeFileAtomic(p, png);
      files.push(p);
      // PNG renders with the shipped font everywhere, so the report prefers it
      image = { src: `plots/${g.id}.png`, dataUri: `data:image/png;base64,${png.toString('base64')}`, width: r.width };
    }
    log(`${g.id}: ${files.map((f) => basename(f)).join(', ')}`);
    graphs.push({ id: g.id, title: g.title, files, width: r.width, height: r.height, marks: r.marks });
    forReport.push({ id: g.id, title: g.title, caption: g.caption, image });
  }

  const name = sweepName(dir);
  const blocks = reportBlocks({ sweepName: name, sweepDir: dir, runs, fit, fitNote, graphs: forReport, createdAt: new Date().toISOString() });
  const reportMd = join(dir, 'report.md');
  const reportHtml = join(dir, 'report.html');
  writeFileAtomic(reportMd, toMarkdown(blocks));
  writeFileAtomic(reportHtml, toHtml(`Scaling-law report: ${name}`, blocks));
  return { sweepDir: dir, fit, fitNote, fitWritten: choice.written, graphs, reportMd, reportHtml };
}
