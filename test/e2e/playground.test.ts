/**
 * End to end: builds the playground with Vite, serves it on 127.0.0.1, opens it in
 * headless Chromium on WebGPU, clicks Run on every benchmark (small shapes) and checks
 * what the page reports (view.ts writes it as data attributes): every implementation that
 * is available ran and matched the float64 reference within the variant's tolerance, and the
 * build row is the searched μGraph (fewer dispatches than per-op; the ratio of medians is printed). A
 * screenshot goes to test/e2e/__screenshots__/playground.png. A missing Chromium fails.
 *
 * The build is frozen (mode `e2e`) against the committed lock, playground/mugraph.lock: it
 * compiles nothing and writes nothing, so a lock that lacks an entry for any program the
 * page imports (small and full shapes) fails here, as `CI=true npm run playground:build`
 * would. The page's modules carry the build's μGraph (the plugin's `artifacts` option), so
 * the build row must say it shows the build's own choice.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launchChromium, serveStatic, type StaticServer } from './browser.js';

const PLAYGROUND = fileURLToPath(new URL('../../playground/', import.meta.url));
const SCREENSHOTS = fileURLToPath(new URL('./__screenshots__/', import.meta.url));
const BENCHMARKS = ['gqa', 'qknorm', 'rmsnorm', 'lora', 'gated_mlp', 'ntrans'];
const TOLERANCE: Record<string, number> = { f32: 1e-4, f16: 1e-2 };

interface RowResult {
  impl: string;
  status: string;
  variant?: string;
  medianMs?: string;
  relL2?: string;
  error?: string;
  reason?: string;
}

describe('playground', () => {
  let outDir: string;
  let server: StaticServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium(); // first: a missing Chromium fails here, with what to install
    outDir = mkdtempSync(join(tmpdir(), 'mugraph-playground-'));
    try {
      await build({ configFile: join(PLAYGROUND, 'vite.config.ts'), mode: 'e2e', logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    } catch (error) {
      // MissingEntryError names `npx mugraph warm <file>`; the playground's lock needs its config, which this script passes.
      throw new Error(`building the playground from its committed lock failed; if an entry is missing or stale, run \`npm run playground:warm\` `
        + `and commit playground/mugraph.lock:\n${(error as Error).message}`);
    }
    server = await serveStatic(outDir);
    page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
  }, 180_000); // a fresh machine verifies each lock entry once (finite-field verifier at full shape, ~15 s in all here): docs/equivalence.md §7

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('runs every benchmark on WebGPU and matches the float64 reference', async () => {
    await page.goto(server!.url);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 20_000 });
    expect(await page.getAttribute('body', 'data-fatal'), 'the page reports a fatal error').toBeNull();
    expect(await page.$$eval('section.benchmark', (s) => s.map((x) => x.getAttribute('data-benchmark')))).toEqual(BENCHMARKS);
    for (const id of BENCHMARKS) {
      const shown = await page.$eval(`section[data-benchmark="${id}"]`, (s) => ({
        diagramBoxes: s.querySelectorAll('svg.ugraph g.node').length,
        wgsl: s.querySelector('pre.wgsl')?.textContent ?? '',
        buildNote: s.querySelector('tr[data-impl="build"] td.label small')?.textContent ?? '',
      }));
      expect(shown.buildNote, `${id}: the build row shows the module's own μGraph, not a recompile`).toContain('from the module');
      expect(shown.diagramBoxes, `${id}: diagram`).toBeGreaterThan(2);
      expect(shown.wgsl, `${id}: WGSL`).toContain('@compute');
      // The build ships the searched μGraph (the lock's entry, built for WebGPU's defaults, no subgroups): fewer launches than per-op.
      const dispatches = await page.$$eval(`section[data-benchmark="${id}"] tr[data-impl] td.kernels`, (cells) =>
        Object.fromEntries(cells.map((c) => [c.closest('tr')!.getAttribute('data-impl'), Number.parseInt(c.textContent ?? '', 10)])));
      expect(dispatches.build, `${id}: the build's dispatches (${dispatches.build}) against per-op's (${dispatches.perOp})`).toBeLessThan(dispatches.perOp!);
    }

    const results: (RowResult & { benchmark: string })[] = [];
    for (const id of BENCHMARKS) {
      const section = `section[data-benchmark="${id}"]`;
      await page.click(`${section} button.run`);
      await page.waitForSelector(`${section}[data-state="done"]`, { state: 'attached', timeout: 20_000 });
      results.push(...(await readRows(page, section)).map((row) => ({ benchmark: id, ...row })));
    }
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'playground.png'), fullPage: true });

    const ran = results.filter((r) => r.status !== 'unavailable');
    const summary = results.map(describeRow).join('\n');
    for (const id of BENCHMARKS) {
      expect(ran.filter((r) => r.benchmark === id).map((r) => r.impl), `${id} ran build and perOp:\n${summary}`)
        .toEqual(expect.arrayContaining(['build', 'perOp']));
    }
    const failed = ran.filter((r) => r.status !== 'pass' || !(Number(r.relL2) <= TOLERANCE[r.variant!]!) || !(Number(r.medianMs) > 0));
    expect(failed.map(describeRow), `every implementation that ran passed:\n${summary}`).toEqual([]);
    console.log(summary);
    // Speed is the bench's to measure; the page's medians are printed here for the record (build / per-op, per benchmark and variant).
    for (const id of BENCHMARKS) {
      for (const variant of new Set(ran.filter((r) => r.benchmark === id).map((r) => r.variant))) {
        const median = (impl: string) => Number(ran.find((r) => r.benchmark === id && r.variant === variant && r.impl === impl)?.medianMs);
        console.log(`${id} ${variant}: build / per-op ${(median('build') / median('perOp')).toFixed(2)}`);
      }
    }
    expect(pageErrors).toEqual([]);
  }, 60_000);
});

function describeRow(r: RowResult & { benchmark: string }): string {
  const numbers = r.relL2 === undefined ? '' : ` rel L2 ${Number(r.relL2).toExponential(2)} (${r.variant}), ${Number(r.medianMs).toFixed(3)} ms`;
  const why = r.error?.split('\n')[0] ?? r.reason;
  return `${r.benchmark} / ${r.impl}: ${r.status}${numbers}${why ? ` (${why})` : ''}`;
}

function readRows(page: Page, section: string): Promise<RowResult[]> {
  return page.$$eval(`${section} tr[data-impl]`, (rows) => rows.map((row) => {
    const d = (row as HTMLElement).dataset;
    return { impl: d.impl!, status: d.status!, variant: d.variant, medianMs: d.medianMs, relL2: d.relL2, error: d.error, reason: d.reason };
  }));
}
