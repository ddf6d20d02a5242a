/**
 * vega-lite spec -> vega -> headless View -> SVG (view.toSVG()), and
 * SVG -> PNG through resvg with the shipped font only (no system fonts), so a
 * graph looks the same on any machine.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';
import { FONT_FAMILY, FONT_FILES, useFontMetricsInVega } from './fonts.ts';

export interface RenderedSvg {
  svg: string;
  width: number;
  height: number;
  /**
   * Number of scenegraph items per named mark, summed over facet groups:
   * a layer named "points" is counted under "points" (one item per plotted datum,
   * also for lines, where each datum is a vertex).
   */
  marks: Record<string, number>;
}

interface SceneNode {
  marktype?: string;
  name?: string;
  items?: SceneNode[];
}

function countMarks(node: SceneNode, out: Record<string, number>): void {
  if (node.marktype && node.name?.endsWith('_marks')) {
    const key = node.name.slice(0, -'_marks'.length);
    out[key] = (out[key] ?? 0) + (node.items?.length ?? 0);
    return;
  }
  for (const child of node.items ?? []) countMarks(child, out);
}

export async function renderSvg(spec: TopLevelSpec): Promise<RenderedSvg> {
  useFontMetricsInVega();
  const vg = compile(spec).spec;
  const view = new vega.View(vega.parse(vg), { renderer: 'none', logLevel: vega.Warn });
  try {
    await view.runAsync();
    const svg = await view.toSVG();
    const marks: Record<string, number> = {};
    countMarks((view.scenegraph() as unknown as { root: SceneNode }).root, marks);
    const m = /<svg[^>]*\swidth="(\d+(?:\.\d+)?)"[^>]*\sheight="(\d+(?:\.\d+)?)"/.exec(svg);
    return { svg, width: Number(m?.[1] ?? NaN), height: Number(m?.[2] ?? NaN), marks };
  } finally {
    view.finalize();
  }
}

/** Rasterise an SVG with the shipped DejaVu Sans only; `scale` 2 gives a sharp 1440-pixel-wide image for a 720-wide graph. */
export function rasterise(svg: string, scale = 2): ReturnType<Resvg['render']> {
  const resvg = new Resvg(svg, {
    font: {
      loadSystemFonts: false,
      fontFiles: [FONT_FILES.regular, FONT_FILES.bold],
      defaultFontFamily: FONT_FAMILY,
      sansSerifFamily: FONT_FAMILY,
    },
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    logLevel: 'off',
  });
  return resvg.render();
}

export function svgToPng(svg: string, scale = 2): Buffer {
  return rasterise(svg, scale).asPng();
}
