/**
 * DOM for one benchmark: a results table (one row per implementation: kernels, median
 * time, error against the float64 reference), the μGraph diagram and the WGSL of the
 * implementation picked in the tabs. Results are also written as data attributes
 * (`data-status`, `data-median-ms`, `data-rel-l2`, `data-reason`, ...) so tests read them without parsing
 * text; test/e2e/playground.test.ts relies on those names.
 */
import { formatShape } from '../../src/ir/shape.js';
import type { Benchmark } from './benchmarks.js';
import { kernelGraphSvg } from './diagram.js';
import {
  type AvailableImplementation, IMPLEMENTATION_LABELS, type Implementation, type ImplementationId, isAvailable,
} from './implementations.js';
import type { Measurement } from './measure.js';

type Children = (Node | string)[];

/** `el('td', { class: 'x', 'data-y': '1' }, 'text', child)` */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Children): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

export interface BenchmarkView {
  readonly section: HTMLElement;
  readonly runButton: HTMLButtonElement;
  showRunning(id: ImplementationId): void;
  showMeasurement(id: ImplementationId, m: Measurement, baselineMs: number | undefined): void;
  showError(id: ImplementationId, error: unknown): void;
}

export interface ProgramSummary {
  readonly name: string;
  readonly inputs: readonly { name: string; shape: readonly number[]; dtype: string }[];
  readonly outputs: readonly { name: string; shape: readonly number[]; dtype: string }[];
}

export function benchmarkView(bench: Benchmark, program: ProgramSummary, impls: readonly Implementation[], variant: string): BenchmarkView {
  const typed = (t: { name: string; shape: readonly number[]; dtype: string }) => `${t.name}: ${t.dtype}${formatShape(t.shape)}`;
  const runButton = el('button', { class: 'run', type: 'button' }, 'Run');
  const rows = new Map(impls.map((impl) => [impl.id, resultRow(impl)]));
  const section = el('section', { class: 'benchmark', id: bench.id, 'data-benchmark': bench.id, 'data-state': 'idle' },
    el('header', {},
      el('div', {},
        el('h2', {}, bench.id, el('span', { class: 'program-name' }, program.name)),
        el('p', { class: 'formula' }, bench.formula),
        el('p', { class: 'signature' }, `(${program.inputs.map(typed).join(', ')}) → ${program.outputs.map(typed).join(', ')}`)),
      runButton),
    el('table', { class: 'results' },
      el('thead', {}, el('tr', {}, ...['implementation', 'kernels', 'median time', 'vs per-op', 'rel. L2 error vs float64'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows.values())),
    detailsPane(impls.filter(isAvailable), variant));
  const cell = (id: ImplementationId, name: string) => rows.get(id)!.querySelector<HTMLElement>(`.${name}`)!;
  return {
    section,
    runButton,
    showRunning(id) {
      rows.get(id)!.dataset.status = 'running';
      cell(id, 'time').textContent = 'running…';
    },
    showMeasurement(id, m, baselineMs) {
      const row = rows.get(id)!;
      Object.assign(row.dataset, {
        status: m.pass ? 'pass' : 'fail', variant: m.variant, medianMs: String(m.medianMs), relL2: String(m.relL2Error), tolerance: String(m.tolerance),
      });
      cell(id, 'time').textContent = `${formatMs(m.medianMs)}`;
      cell(id, 'time').title = `median of ${m.runs} dispatches, ${m.variant} variant`;
      cell(id, 'speedup').textContent = baselineMs === undefined ? '–' : `${(baselineMs / m.medianMs).toFixed(2)}×`;
      cell(id, 'error').replaceChildren(
        `${m.relL2Error.toExponential(1)} `,
        el('span', { class: m.pass ? 'ok' : 'bad' }, m.pass ? '✓' : '✗'),
        el('small', {}, ` ≤ ${m.tolerance.toExponential(0)} (${m.variant})`));
    },
    showError(id, error) {
      const row = rows.get(id)!;
      row.dataset.status = 'error';
      row.dataset.error = String((error as Error)?.message ?? error);
      cell(id, 'time').textContent = 'failed';
      cell(id, 'error').replaceChildren(el('span', { class: 'bad' }, firstLine(row.dataset.error)));
    },
  };
}

function resultRow(impl: Implementation): HTMLTableRowElement {
  const label = el('td', { class: 'label' }, IMPLEMENTATION_LABELS[impl.id]);
  if (!isAvailable(impl)) {
    return el('tr', { 'data-impl': impl.id, 'data-status': 'unavailable', 'data-reason': impl.unavailable, class: 'unavailable' },
      label, el('td', { colspan: '4', class: 'muted' }, impl.unavailable));
  }
  label.append(el('small', {}, impl.note));
  const { kernels, dispatches } = impl.compiled;
  return el('tr', { 'data-impl': impl.id, 'data-status': 'idle' },
    label,
    el('td', { class: 'kernels' }, `${dispatches.length} dispatch${dispatches.length === 1 ? '' : 'es'}`, el('small', {}, `${kernels.length} distinct kernel${kernels.length === 1 ? '' : 's'}`)),
    el('td', { class: 'time' }, '–'),
    el('td', { class: 'speedup' }, '–'),
    el('td', { class: 'error' }, '–'));
}

/** Tabs over the available implementations; the selected one's diagram beside its WGSL. */
function detailsPane(impls: readonly AvailableImplementation[], variant: string): HTMLElement {
  const diagram = el('div', { class: 'diagram' });
  const kernelPicker = el('select', { 'aria-label': 'kernel' });
  const source = el('code', {});
  const wgslTitle = el('h3', {});
  const tabs = impls.map((impl) => el('button', { type: 'button', class: 'tab', 'data-impl': impl.id }, IMPLEMENTATION_LABELS[impl.id]));
  const show = (impl: AvailableImplementation) => {
    tabs.forEach((tab) => tab.classList.toggle('selected', tab.dataset.impl === impl.id));
    diagram.innerHTML = kernelGraphSvg(impl.graph);
    const kernels = impl.compiled.kernels;
    const shown = variant === 'f16' && kernels.every((k) => k.wgsl.f16 !== undefined) ? 'f16' : 'f32';
    wgslTitle.textContent = `WGSL (${shown} variant)`;
    kernelPicker.replaceChildren(...kernels.map((k, i) => el('option', { value: String(i) }, `${i + 1}/${kernels.length}: ${k.name}`)));
    kernelPicker.onchange = () => {
      source.textContent = kernels[Number(kernelPicker.value)]!.wgsl[shown] ?? '';
    };
    kernelPicker.onchange(new Event('change'));
  };
  tabs.forEach((tab, i) => tab.addEventListener('click', () => show(impls[i]!)));
  show(impls[0]!);
  return el('div', { class: 'details' },
    el('nav', { class: 'tabs' }, 'μGraph of ', ...tabs),
    el('div', { class: 'panes' },
      el('figure', { class: 'diagram-pane' }, el('h3', {}, 'kernel graph'), diagram),
      el('div', { class: 'wgsl-pane' }, wgslTitle, kernelPicker, el('pre', { class: 'wgsl' }, source))));
}

function formatMs(ms: number): string {
  return ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}

function firstLine(text: string | undefined): string {
  const line = (text ?? '').split('\n')[0]!;
  return line.length > 160 ? `${line.slice(0, 157)}…` : line;
}
