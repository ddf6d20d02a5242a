/**
 * The plots' font: DejaVu Sans, shipped in assets/fonts/ so that PNGs render
 * identically on a machine with no fonts installed (resvg gets these files and
 * loadSystemFonts: false).
 *
 * Vega lays out legends, titles and axis labels from text widths. Without
 * node-canvas it guesses 0.8·fontSize per character, which is ~40 % too wide
 * for DejaVu Sans; we give it the real advance widths instead, read from the
 * font's `hmtx` table through its `cmap` (TrueType spec, tables head / hhea /
 * hmtx / cmap formats 4 and 12). Kerning is ignored (< 2 % on labels).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as vega from 'vega';
import { PROJECT_ROOT } from '../util/paths.ts';

export const FONT_FAMILY = 'DejaVu Sans';
export const FONT_DIR = resolve(PROJECT_ROOT, 'assets', 'fonts');
export const FONT_FILES = {
  regular: resolve(FONT_DIR, 'DejaVuSans.ttf'),
  bold: resolve(FONT_DIR, 'DejaVuSans-Bold.ttf'),
} as const;

/** Advance widths of one TrueType font, in em units (1 = font size). */
export class FontMetrics {
  private readonly advance: Float64Array; // per glyph id, in em
  private readonly glyphOf: (codePoint: number) => number;

  constructor(buf: Uint8Array) {
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const tables = new Map<string, number>();
    const numTables = v.getUint16(4);
    for (let i = 0; i < numTables; i++) {
      const rec = 12 + 16 * i;
      const tag = String.fromCharCode(buf[rec], buf[rec + 1], buf[rec + 2], buf[rec + 3]);
      tables.set(tag, v.getUint32(rec + 8));
    }
    const table = (tag: string): number => {
      const off = tables.get(tag);
      if (off === undefined) throw new Error(`font has no '${tag}' table`);
      return off;
    };
    const unitsPerEm = v.getUint16(table('head') + 18);
    const numGlyphs = v.getUint16(table('maxp') + 4);
    const numHMetrics = v.getUint16(table('hhea') + 34);
    const hmtx = table('hmtx');
    this.advance = new Float64Array(numGlyphs);
    for (let g = 0; g < numGlyphs; g++) {
      // glyphs past numHMetrics repeat the last advance width
      this.advance[g] = v.getUint16(hmtx + 4 * Math.min(g, numHMetrics - 1)) / unitsPerEm;
    }
    this.glyphOf = cmapLookup(v, table('cmap'));
  }

  /** Width of `text` at font size 1 (sum of advances; unknown characters take .notdef's). */
  width(text: string): number {
    let w = 0;
    for (const ch of text) w += this.advance[this.glyphOf(ch.codePointAt(0)!)] ?? this.advance[0];
    return w;
  }
}

/** Character -> glyph id from the best Unicode cmap subtable (format 12, else format 4). */
function cmapLookup(v: DataView, cmap: number): (cp: number) => number {
  const n = v.getUint16(cmap + 2);
  let f4 = -1;
  let f12 = -1;
  for (let i = 0; i < n; i++) {
    const platform = v.getUint16(cmap + 4 + 8 * i);
    const encoding = v.getUint16(cmap + 6 + 8 * i);
    const sub = cmap + v.getUint32(cmap + 8 + 8 * i);
    const format = v.getUint16(sub);
    const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
    if (!unicode) continue;
    if (format === 12) f12 = sub;
    if (format === 4) f4 = sub;
  }
  if (f12 >= 0) {
    // groups of (startChar, endChar, startGlyph)
    const groups = v.getUint32(f12 + 12);
    return (cp) => {
      let lo = 0;
      let hi = groups - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const g = f12 + 16 + 12 * mid;
        if (cp < v.getUint32(g)) hi = mid - 1;
        else if (cp > v.getUint32(g + 4)) lo = mid + 1;
        else return v.getUint32(g + 8) + (cp - v.getUint32(g));
      }
      return 0;
    };
  }
  if (f4 < 0) throw new Error('font has no Unicode cmap (format 4 or 12)');
  // segments: endCode[], startCode[], idDelta[], idRangeOffset[] (+ glyphIdArray)
  const segX2 = v.getUint16(f4 + 6);
  const ends = f4 + 14;
  const starts = ends + segX2 + 2;
  const deltas = starts + segX2;
  const ranges = deltas + segX2;
  return (cp) => {
    if (cp > 0xffff) return 0;
    for (let s = 0; s < segX2; s += 2) {
      if (cp > v.getUint16(ends + s)) continue;
      const start = v.getUint16(starts + s);
      if (cp < start) return 0;
      const delta = v.getInt16(deltas + s);
      const ro = v.getUint16(ranges + s);
      if (ro === 0) return (cp + delta) & 0xffff;
      const g = v.getUint16(ranges + s + ro + 2 * (cp - start));
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
}

let loaded: { regular: FontMetrics; bold: FontMetrics; buffers: Buffer[] } | null = null;

/** The shipped font files (read once). Throws if assets/fonts is missing. */
export function plotFonts(): { regular: FontMetrics; bold: FontMetrics; buffers: Buffer[] } {
  if (!loaded) {
    const regular = readFileSync(FONT_FILES.regular);
    const bold = readFileSync(FONT_FILES.bold);
    loaded = { regular: new FontMetrics(regular), bold: new FontMetrics(bold), buffers: [regular, bold] };
  }
  return loaded;
}

function isBold(weight: unknown): boolean {
  if (weight === undefined || weight === null) return false;
  if (typeof weight === 'number') return weight >= 600;
  const w = String(weight);
  return w === 'bold' || w === 'bolder' || Number(w) >= 600;
}

/**
 * Make vega measure text with the shipped font's advance widths (vega calls a
 * user-supplied textMetrics.width for every label, legend entry and title).
 */
export function useFontMetricsInVega(): void {
  const { regular, bold } = plotFonts();
  // vega-scenegraph's textMetrics is re-exported by vega but missing from its typings
  const textMetrics = (vega as unknown as { textMetrics: { width: unknown } }).textMetrics;
  textMetrics.width = (item: { fontSize?: number; fontWeight?: string | number; limit?: number }, text?: unknown) => {
    const size = item.fontSize != null ? +item.fontSize || 0 : 11;
    const s = text == null ? '' : String(text).trim();
    const w = (isBold(item.fontWeight) ? bold : regular).width(s) * size;
    return item.limit && item.limit > 0 ? Math.min(w, item.limit) : w;
  };
}
