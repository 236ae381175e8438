/**
 * The playground page: one section per benchmark (benchmarks.ts) with its implementations
 * (implementations.ts); Run times each on this browser's WebGPU device and checks it
 * against the float64 reference (measure.ts). `?shapes=full` (or the toggle) switches
 * from the small test twins to Mirage's shapes at b = 1. `body[data-ready]` turns "true"
 * once the sections are rendered; tests wait for it.
 */
import './style.css';
import { BENCHMARKS, loadBenchmark, type ShapeSet } from './benchmarks.js';
import { type AvailableImplementation, implementationsOf, isAvailable } from './implementations.js';
import { measure, ProgramCase, requestDevice } from './measure.js';
import { type BenchmarkView, benchmarkView, el } from './view.js';

const sectionsRoot = document.querySelector<HTMLElement>('#benchmarks')!;
const deviceLine = document.querySelector<HTMLElement>('#device')!;
const fatal = document.querySelector<HTMLElement>('#fatal')!;
const runAllButton = document.querySelector<HTMLButtonElement>('#run-all')!;
const shapeInputs = [...document.querySelectorAll<HTMLInputElement>('input[name="shapes"]')];

/** Per-operator first: its time is the baseline the others are compared with. */
const RUN_ORDER = ['perOp', 'build', 'handWritten'] as const;

interface Entry {
  readonly view: BenchmarkView;
  readonly run: () => Promise<void>;
}

const device: Promise<GPUDevice | undefined> = requestDevice().then(
  (d) => {
    describeDevice(d);
    d.addEventListener('uncapturederror', (e) => console.error('WebGPU error:', (e as GPUUncapturedErrorEvent).error.message));
    void d.lost.then((info) => showFatal(`the WebGPU device was lost: ${info.message}`));
    return d;
  },
  (error: unknown) => {
    showFatal(`${(error as Error).message}. The diagrams and WGSL are shown; running needs a browser with WebGPU.`);
    return undefined;
  },
);

let entries: Entry[] = [];
let renderCount = 0;

async function render(shapes: ShapeSet): Promise<void> {
  const current = ++renderCount;
  document.body.dataset.ready = 'false';
  sectionsRoot.replaceChildren(el('p', { class: 'muted' }, 'loading the programs…'));
  const gpu = await device;
  const variant = gpu?.features.has('shader-f16') ? 'f16' : 'f32';
  const built = await Promise.all(BENCHMARKS.map(async (bench): Promise<Entry | HTMLElement> => {
    try {
      const programs = await loadBenchmark(bench, shapes);
      const { module, program } = programs;
      const impls = implementationsOf(programs, gpu);
      const view = benchmarkView(bench, { name: module.name, inputs: program.inputSpecs, outputs: program.outputSpecs }, impls, variant);
      const testCase = new ProgramCase(program);
      const run = () => runBenchmark(view, impls.filter(isAvailable), testCase);
      view.runButton.disabled = gpu === undefined;
      view.runButton.addEventListener('click', () => void run());
      return { view, run };
    } catch (error) {
      return el('section', { class: 'benchmark', 'data-benchmark': bench.id, 'data-state': 'error' },
        el('h2', {}, bench.id), el('pre', { class: 'bad' }, String((error as Error).stack ?? error)));
    }
  }));
  if (current !== renderCount) return;
  entries = built.filter((b): b is Entry => !(b instanceof HTMLElement));
  sectionsRoot.replaceChildren(...built.map((b) => (b instanceof HTMLElement ? b : b.view.section)));
  runAllButton.disabled = gpu === undefined;
  document.body.dataset.ready = 'true';
}

async function runBenchmark(view: BenchmarkView, impls: readonly AvailableImplementation[], testCase: ProgramCase): Promise<void> {
  const gpu = await device;
  if (!gpu || view.section.dataset.state === 'running') return;
  view.section.dataset.state = 'running';
  view.runButton.disabled = true;
  // Let the page paint "running" before the reference interpreter takes the main thread.
  await new Promise((resolve) => setTimeout(resolve, 0));
  let baselineMs: number | undefined;
  for (const id of RUN_ORDER) {
    const impl = impls.find((i) => i.id === id);
    if (!impl) continue;
    view.showRunning(id);
    try {
      const loaded = await impl.load(gpu);
      try {
        const m = await measure(loaded, testCase, gpu);
        if (id === 'perOp') baselineMs = m.medianMs;
        view.showMeasurement(id, m, baselineMs);
      } finally {
        loaded.destroy();
      }
    } catch (error) {
      console.error(`${testCase.program.name} (${id}):`, error);
      view.showError(id, error);
    }
  }
  view.section.dataset.state = 'done';
  view.runButton.disabled = false;
}

function describeDevice(d: GPUDevice): void {
  const info = d.adapterInfo;
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') || 'unnamed adapter';
  deviceLine.textContent = `WebGPU: ${name} · ${d.features.has('shader-f16') ? 'shader-f16: f16 variant' : 'no shader-f16: f32 variant'}`;
}

function showFatal(message: string): void {
  fatal.textContent = message;
  fatal.hidden = false;
  document.body.dataset.fatal = message;
}

runAllButton.addEventListener('click', async () => {
  runAllButton.disabled = true;
  for (const entry of entries) await entry.run();
  runAllButton.disabled = false;
});

const initial: ShapeSet = new URLSearchParams(location.search).get('shapes') === 'full' ? 'full' : 'small';
for (const input of shapeInputs) {
  input.checked = input.value === initial;
  input.addEventListener('change', () => {
    const shapes = input.value as ShapeSet;
    history.replaceState(null, '', shapes === 'full' ? '?shapes=full' : location.pathname);
    void render(shapes);
  });
}
void render(initial);
