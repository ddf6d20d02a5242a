/**
 * The dashboard in headless Chromium: it draws the plot graphs from the served
 * folder, picks up a row appended to a metrics.csv within 5 s without a reload,
 * ignores a half-written row until it is complete, and redraws for the runs
 * ticked and for non-embedding N.
 */
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type DashboardServer } from '../src/serve/server.ts';
import { hasChromium, launchChromium } from './helpers/browser.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'fit', 'sweep');
const RUN = 'n2-4000000';

/** What the page exposes for tests (public/app.js); the test's tsconfig has no DOM lib, hence globalThis. */
type Win = {
  dashboard: {
    draws: number;
    points(graph: string, series?: string): number;
    series(graph: string): string[];
    marks(graph: string): Record<string, number>;
    views: Record<string, unknown>;
  };
};

describe.skipIf(!hasChromium())('dashboard in the browser', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'chinchilla-dash-'));
  let srv: DashboardServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const csv = join(tmp, 'runs', 'fixture', RUN, 'metrics.csv');
  const rowsIn = () => readFileSync(csv, 'utf8').trim().split('\n').length - 1;

  beforeAll(async () => {
    cpSync(FIXTURE, join(tmp, 'runs', 'fixture'), { recursive: true });
    srv = await startServer({ dir: join(tmp, 'runs'), port: 0, host: '127.0.0.1', pollMs: 500 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(srv.url);
    await page.waitForFunction(() => (globalThis as unknown as Win).dashboard?.draws > 0, null, { timeout: 30_000 });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('lists the runs and draws the graphs of `chinchilla plot`', async () => {
    expect(await page.locator('#runs tbody tr').count()).toBe(6);
    const ids = await page.evaluate(() => Object.keys((globalThis as unknown as Win).dashboard.views));
    expect(ids).toEqual(expect.arrayContaining(['1-loss-vs-step', '2-loss-vs-compute', '3-compute-frontier', '4-isoflop-profiles']));
    // every evaluation of the six runs is a point on graph 1
    expect(await page.evaluate(() => (globalThis as unknown as Win).dashboard.points('1-loss-vs-step'))).toBe(6 * 41);
  });

  it('overlays only the ticked run, and its point count grows within 5 s of a row being appended', async () => {
    await page.locator(`#runs tr[data-run="${RUN}"] input.pick`).check();
    await page.waitForFunction((n) => (globalThis as unknown as Win).dashboard.points('1-loss-vs-step') === n, rowsIn(), { timeout: 10_000 });
    const before = await page.evaluate(() => (globalThis as unknown as Win).dashboard.points('1-loss-vs-step'));
    expect(before).toBe(41);

    // a row being written: no newline yet, so not a row
    appendFileSync(csv, '20500,1343488000,3.2e16,3.2e16,3.3e16,3.1');
    await page.waitForTimeout(1500);
    expect(await page.evaluate(() => (globalThis as unknown as Win).dashboard.points('1-loss-vs-step'))).toBe(before);
    expect(await page.locator(`#runs tr[data-run="${RUN}"]`).innerText()).toContain('skipped');

    const t0 = Date.now();
    appendFileSync(csv, '5,3.05,0.0006,2050,10000,0.01,16384\n');
    await page.waitForFunction((n) => (globalThis as unknown as Win).dashboard.points('1-loss-vs-step') === n, before + 1, { timeout: 5000 });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await page.locator(`#runs tr[data-run="${RUN}"] td`).last().innerText()).toBe('3.0500');
    expect(errors).toEqual([]);
  });

  it('labels the runs by non-embedding parameters when N is switched', async () => {
    const labels = () => page.evaluate(() => (globalThis as unknown as Win).dashboard.series('1-loss-vs-step'));
    const draws = await page.evaluate(() => (globalThis as unknown as Win).dashboard.draws);
    await page.selectOption('#n', 'non-embedding');
    await page.waitForFunction((d) => (globalThis as unknown as Win).dashboard.draws > d, draws);
    const fixtureRun = JSON.parse(readFileSync(join(FIXTURE, RUN, 'run.json'), 'utf8')) as { params_total: number; params_non_embedding: number };
    expect(fixtureRun.params_non_embedding).not.toBe(fixtureRun.params_total);
    // the ticked run alone, labelled with its non-embedding count (3,928,320 -> "3.93M params"), then its total (4M)
    expect(await labels()).toEqual(['3.93M params']);
    await page.selectOption('#n', 'total');
    await page.waitForFunction((d) => (globalThis as unknown as Win).dashboard.draws > d + 1, draws);
    expect(await labels()).toEqual(['4M params']);
  });
});
