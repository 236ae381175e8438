import { describe, expect, it } from 'vitest';
import { KernelGraph, type KernelGraphJSON } from '../../src/ugraph/kernel-graph.js';
import { kernelGraphFromProgram } from '../../src/ugraph/lower-naive.js';
import { attentionOneKernel, attentionSplitKV, everyPrimitive, gatedMlp, rmsnormLinear, tiledMatmul } from './graphs.js';

const graphs = {
  tiledMatmul: () => tiledMatmul().graph,
  rmsnormLinear: () => rmsnormLinear().graph,
  attentionOneKernel: () => attentionOneKernel().graph,
  attentionSplitKV: () => attentionSplitKV().graph,
  naiveEveryPrimitive: () => kernelGraphFromProgram(everyPrimitive()),
  gatedMlpThreadConfig: () => gatedMlp().graph,
};

/** A deep copy of the graph's JSON, edited by `edit`, parsed back. */
function edited(graph: KernelGraph, edit: (json: any) => void): KernelGraph {
  const json = JSON.parse(JSON.stringify(graph));
  edit(json);
  return KernelGraph.fromJSON(json);
}

describe('canonical JSON', () => {
  for (const [name, make] of Object.entries(graphs)) {
    it(`round-trips ${name} exactly (text, hash, listing)`, () => {
      const graph = make();
      const text = JSON.stringify(graph);
      const back = KernelGraph.fromJSON(text);
      expect(JSON.stringify(back)).toBe(text);
      expect(back.hash).toBe(graph.hash);
      expect(back.pretty()).toBe(graph.pretty());
    });
  }

  it('fills in defaults, so the JSON is complete and canonical', () => {
    const json = tiledMatmul().graph.toJSON() as KernelGraphJSON;
    const node = json.nodes[0]!;
    expect(node.op).toBe('custom');
    if (node.op !== 'custom') return;
    expect(node.thread).toEqual({ invocations: 128, registerTile: [1, 1], vectorWidth: 1 });
    expect(node.block.inputs).toEqual([{ imap: [null, 0, null], fmap: 1 }, { imap: [1, null, null], fmap: 0 }]);
    expect(node.block.outputs).toEqual([{ tensor: 3, omap: [1, 0, null], dtype: 'f32' }]);
  });

  it('values are frozen', () => {
    const graph = rmsnormLinear().graph;
    expect(Object.isFrozen(graph)).toBe(true);
    expect(Object.isFrozen(graph.nodes[0])).toBe(true);
    const node = graph.nodes[0]!;
    if (node.op !== 'custom') throw new Error('expected custom');
    expect(Object.isFrozen(node.block.ops[0])).toBe(true);
    expect(Object.isFrozen(node.block.inputs[0]!.imap)).toBe(true);
  });
});

describe('structural hash', () => {
  it('is stable across constructions and runs', () => {
    expect(tiledMatmul().graph.hash).toBe(tiledMatmul().graph.hash);
    expect(Object.fromEntries(Object.entries(graphs).map(([name, make]) => [name, make().hash]))).toMatchSnapshot();
  });

  it('ignores input and output names, which are labels', () => {
    const graph = tiledMatmul().graph;
    const renamed = edited(graph, (json) => { json.inputs[0].name = 'a'; json.outputs[0].name = 'out'; });
    expect(renamed.hash).toBe(graph.hash);
    expect(JSON.stringify(renamed)).not.toBe(JSON.stringify(graph));
  });

  it('changes with every attribute that changes the kernels', () => {
    const graph = rmsnormLinear().graph;
    const variants = [
      edited(graph, (j) => { j.nodes[0].block.forloopRange = 4; }),
      edited(graph, (j) => { j.nodes[0].block.grid = [3, 1, 1]; }),
      edited(graph, (j) => { j.nodes[0].block.inputs[0].fmap = null; j.nodes[0].block.forloopRange = 1; j.nodes[0].block.inputs[1].fmap = null; }),
      edited(graph, (j) => { j.nodes[0].block.ops.find((op: any) => op.op === 'constant').value = 1e-5; }),
      edited(graph, (j) => { j.nodes[0].thread.invocations = 64; }),
      edited(graph, (j) => { j.nodes[0].block.outputs[0].dtype = 'f16'; }),
      edited(graph, (j) => { j.inputs[1].dtype = 'f16'; j.inputs[0].dtype = 'f16'; }),
    ];
    const hashes = new Set([graph.hash, ...variants.map((v) => v.hash)]);
    expect(hashes.size).toBe(variants.length + 1);
  });
});

describe('pretty-printer', () => {
  it('lists a tiled matmul', () => {
    expect(tiledMatmul().graph.pretty()).toMatchInlineSnapshot(`
      "kernel graph (x: f32[8, 32], w: f32[32, 24])
        %2: f32[8, 24] = custom(x, w)
            invocations=128 registerTile=1x1 vectorWidth=1
            grid [3, 2, 1], forloop 4
            inputs
              t0 [4, 8] = iterate x imap {y:0} fmap 1
              t1 [8, 8] = iterate w imap {x:1} fmap 0
            loop body
              t2 [4, 8] = matmul(t0, t1)
            accumulators
              t3 [4, 8] = accum sum(t2)
            outputs
              %2 f32[8, 24] = save t3 omap {x:1, y:0}
        return { y: %2 }"
    `);
  });

  it('lists RMSNorm+Linear by phase', () => {
    expect(rmsnormLinear().graph.pretty()).toMatchInlineSnapshot(`
      "kernel graph (x: f32[4, 64], w: f32[64, 48])
        %2: f32[4, 48] = custom(x, w)
            invocations=128 registerTile=1x1 vectorWidth=1
            grid [6, 1, 1], forloop 8
            inputs
              t0 [4, 8] = iterate x imap {} fmap 1
              t1 [8, 8] = iterate w imap {x:1} fmap 0
            constants
              t7 [] = constant(0.000001)
            loop body
              t2 [4, 8] = matmul(t0, t1)
              t4 [4, 8] = square(t0)
            accumulators
              t3 [4, 8] = accum sum(t2)
              t5 [4, 1] = accum sumLastDim(t4)
            epilogue
              t6 [4, 1] = scale(t5, c=0.015625)
              t8 [4, 1] = add(t6, t7)
              t9 [4, 1] = sqrt(t8)
              t10 [4, 8] = div(t3, t9)
            outputs
              %2 f32[4, 48] = save t10 omap {x:1}
        return { y: %2 }"
    `);
  });

  it('lists split-KV attention (two custom kernels, three outputs)', () => {
    expect(attentionSplitKV().graph.pretty()).toMatchInlineSnapshot(`
      "kernel graph (q: f32[2, 8, 16], k: f32[2, 16, 32], v: f32[2, 32, 16])
        %3: f32[2, 8, 32], %4: f32[2, 8, 2], %5: f32[2, 8, 2] = custom(q, k, v)
            invocations=128 registerTile=1x1 vectorWidth=1
            grid [2, 2, 1], forloop 2
            inputs
              t0 [1, 8, 16] = iterate q imap {x:0}
              t1 [1, 16, 8] = iterate k imap {x:0, y:2} fmap 2
              t2 [1, 8, 16] = iterate v imap {x:0, y:1} fmap 1
            loop body
              t3 [1, 8, 8] = matmul(t0, t1)
              t4 [1, 8, 1] = max(t3, dim=2, keepdim)
              t5 [1, 8, 8] = sub(t3, t4)
              t6 [1, 8, 8] = exp(t5)
              t9 [1, 8, 16] = matmul(t6, t2)
            accumulators
              t7 [1, 8, 1] = accum maxRescale(t4)
              t8 [1, 8, 1] = accum sumLastDim(t6, rescaleBy=t7)
              t10 [1, 8, 16] = accum sum(t9, rescaleBy=t7)
            outputs
              %3 f32[2, 8, 32] = save t10 omap {x:0, y:2}
              %4 f32[2, 8, 2] = save t7 omap {x:0, y:2}
              %5 f32[2, 8, 2] = save t8 omap {x:0, y:2}
        %6: f32[2, 8, 16] = custom(%3, %4, %5)
            invocations=128 registerTile=1x1 vectorWidth=1
            grid [2, 1, 1], forloop 2
            inputs
              t0 [1, 8, 16] = iterate %3 imap {x:0} fmap 2
              t1 [1, 8, 1] = iterate %4 imap {x:0} fmap 2
              t2 [1, 8, 1] = iterate %5 imap {x:0} fmap 2
            accumulators
              t3 [1, 8, 1] = accum maxRescale(t1)
              t4 [1, 8, 16] = accum sum(t0, rescaleBy=t3)
              t5 [1, 8, 1] = accum sum(t2, rescaleBy=t3)
            epilogue
              t6 [1, 8, 16] = div(t4, t5)
            outputs
              %6 f32[2, 8, 16] = save t6 omap {x:0}
        return { o: %6 }"
    `);
  });

  it('lists the naive lowering', () => {
    expect(kernelGraphFromProgram(everyPrimitive()).pretty()).toMatchSnapshot();
  });
});
