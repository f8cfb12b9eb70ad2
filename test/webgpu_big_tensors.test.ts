// WebGPU-only: tensors larger than one storage binding (maxStorageBufferBindingSize) or one
// buffer (maxBufferSize). The backend's limits are lowered to a few KiB, so small tensors run
// the split paths: every result is compared with the same op at the device's own limits
// (exactly where the split keeps each value's arithmetic, closely where it sums in pieces)
// or with a float64 reference.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AdamW, DeviceLimitError, ConfigError, add, adamw, columnSum, dropout, embedding, gatherRows, gelu, generate, layerNorm, loadModel, matmul, max, scale,
  scatterAddRows, sampleTokens, softmaxCrossEntropy, sum, sumSquares, swiglu, tokenLogprobs, type CausalLM, type MatmulOptions, type Tensor, type TokenBatch,
} from 'webrlhf';
import { HARDWARE_MATMUL, SOFTWARE_MATMUL, WebGPUBackend, type MatmulTiling, type StorageLimits } from '../src/backend/webgpu/webgpu_backend.js';
import { rowIndex } from '../src/nn/row_index.js';
import { platform } from '../src/runtime/platform.js';
import { assertClose, matmulRef, randomF32 } from './harness/reference.js';
import { legBackend, legBackendInstance as backend, withSetting } from './harness/runtime.js';

const test = suite('webgpu big tensors');

async function gpu(): Promise<WebGPUBackend> {
  const be = await backend();
  assert.instance(be, WebGPUBackend);
  return be as WebGPUBackend;
}

/** Runs `body` under lowered storage limits, then restores the previous ones. */
async function capped<T>(limits: Partial<StorageLimits>, body: (be: WebGPUBackend) => Promise<T>): Promise<T> {
  const be = await gpu();
  const before = be.storageLimits;
  be.setStorageLimits(limits);
  try {
    return await body(be);
  } finally {
    be.setStorageLimits(before);
  }
}

/** Runs `build` once at the device's limits and once under `limits`; returns the values it reads back, both ways. */
async function bothWays(limits: Partial<StorageLimits>, build: (be: WebGPUBackend) => Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  const run = async (be: WebGPUBackend) => {
    const outs = build(be);
    const values = await Promise.all(outs.map((t) => be.read(t)));
    for (const t of outs) t.dispose();
    return values;
  };
  const whole = await run(await gpu());
  return [whole, await capped(limits, run)];
}

/** A few KiB: 1024 values per binding. */
const SMALL = { binding: 4096 };

function expectLimitError(f: () => unknown, ...words: string[]): void {
  try {
    f();
  } catch (e) {
    assert.instance(e, DeviceLimitError);
    for (const w of words) assert.ok((e as Error).message.includes(w), `"${(e as Error).message}" names ${w}`);
    return;
  }
  assert.unreachable('expected a DeviceLimitError');
}

if (legBackend() === 'webgpu') {
  test('a tensor larger than one buffer spans several: upload, read, write, zero, copy and views across them', () => capped({ buffer: 1024 }, async (be) => {
    // 256 values per buffer: 1000 values in four buffers.
    const data = randomF32(1000, 1);
    const t = be.tensor(data, [1000]);
    assert.equal(await be.read(t), data);
    // A view across the cut at 256.
    const across = be.view(t, 192, [200]);
    assert.equal(await be.read(across), data.slice(192, 392));
    be.zero(across);
    const zeroed = data.slice();
    zeroed.fill(0, 192, 392);
    assert.equal(await be.read(t), zeroed);
    be.write(across, data.subarray(0, 200));
    zeroed.set(data.subarray(0, 200), 192);
    assert.equal(await be.read(t), zeroed);
    // Copies whose sides are cut in different places.
    const other = be.zeros([1200]);
    be.copy(across, be.view(other, 448, [200]));
    assert.equal((await be.read(other)).slice(448, 648), data.slice(0, 200));
    be.copy(t, be.view(other, 64, [1000]));
    assert.equal((await be.read(other)).slice(64, 1064), zeroed);
    // Elementwise ops and reductions take it in pieces; rows across a cut cannot be bound.
    const twice = add(t, t);
    assertClose(await be.read(twice), zeroed.map((x) => 2 * x), { rtol: 0, atol: 0, what: 'add' });
    const total = (await be.read(sum(t)))[0]!;
    assert.ok(Math.abs(total - zeroed.reduce((s, x) => s + x, 0)) < 1e-3, `sum ${total}`);
    expectLimitError(() => columnSum(be.view(t, 192, [10, 20]), be.zeros([20])), 'columnSum', '10 row(s) of 20 values', '800 bytes', 'device buffers', 'wasm backend');
    for (const x of [t, other, twice]) x.dispose();
  }));

  test('packed parts: storage is cut between parts or their whole rows, and a part that cannot be cut within a buffer is an error naming sizes and limits', () => capped({ buffer: 1024 }, async (be) => {
    // A [3, 64] matrix, an [8, 64] matrix and a vector of 192 in buffers of 256 values: cut
    // at 192 (the second matrix's start), 448 (after its 4th row) and 704 (the vector's start).
    const data = randomF32(896, 2);
    const t = be.tensor(data, [896], { parts: [{ offset: 0, width: 64 }, { offset: 192, width: 64 }, { offset: 704, width: 192 }] });
    const [a, b, v] = [be.view(t, 0, [3, 64]), be.view(t, 192, [8, 64]), be.view(t, 704, [192])];
    assert.equal(await be.read(scale(v, 2)), data.slice(704).map((x) => 2 * x));
    // The second matrix lies across the cut: matmul takes it in blocks of rows.
    const x = randomF32(5 * 64, 3);
    const product = matmul(be.tensor(x, [5, 64]), b, { transB: true });
    const ref = matmulRef(x, data.slice(192, 704), { M: 5, N: 8, K: 64, transB: true });
    assertClose(await be.read(product), ref.value, { scale: ref.scale, rtol: 1e-5, atol: 1e-6, what: 'matmul over a matrix across two buffers' });
    assert.equal(await be.read(a), data.slice(0, 192));
    t.dispose();
    expectLimitError(() => be.zeros([1000], { parts: [{ offset: 0, width: 64 }, { offset: 64, width: 936 }] }), '4000 bytes', '1024 bytes', 'rows of 936 values', 'after element 64', 'wasm backend');
    assert.throws(() => be.setStorageLimits({ binding: 100 }), (e: unknown) => e instanceof ConfigError);
  }));

  // M×K×N, each past 1024 values in some operand: B, A, out, or K. A block binds at least 4
  // whole rows of an operand from a 256-byte boundary, so rows here are at most 240 values.
  const SHAPES: [number, number, number][] = [[5, 24, 230], [230, 24, 5], [40, 150, 24], [37, 21, 151], [130, 33, 70]];
  /** Runs `body` in the given matmul tiling (both are checked on any adapter). */
  const tiled = (tiling: MatmulTiling, body: (be: WebGPUBackend) => Promise<void>) => (be: WebGPUBackend) => withSetting(be, 'matmulTiling', tiling, () => body(be));
  const TILINGS = [['software', SOFTWARE_MATMUL], ['hardware', HARDWARE_MATMUL]] as const;
  for (const [M, K, N] of SHAPES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const [kind, tiling] of TILINGS) {
          test(`matmul ${M}×${K}×${N}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''} in blocks of 4 KiB bindings (${kind} tiles), with bias, alpha and accumulate`, () => capped(SMALL, tiled(tiling, async (be) => {
            const a = randomF32(M * K, M + K);
            const b = randomF32(K * N, K + N);
            const bias = randomF32(N, 3);
            const acc = randomF32(M * N, 4);
            const ta = be.tensor(a, transA ? [K, M] : [M, K]);
            const tb = be.tensor(b, transB ? [N, K] : [K, N]);
            const layout = { M, N, K, transA, transB };
            const plain = matmul(ta, tb, { transA, transB });
            let ref = matmulRef(a, b, layout);
            assertClose(await be.read(plain), ref.value, { scale: ref.scale, rtol: 2e-6 * Math.sqrt(K) + 1e-6, atol: 1e-6, what: 'plain' });
            const out = be.tensor(acc, [M, N]);
            const options: MatmulOptions = { transA, transB, bias: be.tensor(bias), alpha: 0.5, out, accumulate: true };
            matmul(ta, tb, options);
            ref = matmulRef(a, b, { ...layout, alpha: 0.5, bias, accumulate: acc });
            assertClose(await be.read(out), ref.value, { scale: ref.scale, rtol: 2e-6 * Math.sqrt(K) + 1e-6, atol: 1e-6, what: 'bias, alpha, accumulate' });
            for (const t of [ta, tb, plain, out, options.bias!]) t.dispose();
          })));
        }
      }
    }
  }

  for (const [what, M, K, N, broadcastB] of [
    ['whole matrices per block of batch entries', 6, 10, 12, false],
    ['matrices larger than a binding, each cut', 40, 30, 36, false],
    ['a shared B larger than a binding', 24, 50, 30, true],
  ] as const) {
    for (const [transB, [kind, tiling]] of [[false, TILINGS[0]], [true, TILINGS[1]]] as const) {
      test(`batched matmul in blocks: ${what}${transB ? ', Bᵀ' : ''} (${kind} tiles)`, () => capped(SMALL, tiled(tiling, async (be) => {
        const batch = 5;
        const a = randomF32(batch * M * K, 7);
        const b = randomF32((broadcastB ? 1 : batch) * K * N, 8);
        const acc = randomF32(batch * M * N, 9);
        const ta = be.tensor(a, [batch, M, K]);
        const tb = be.tensor(b, [...(broadcastB ? [] : [batch]), ...(transB ? [N, K] : [K, N])]);
        const out = be.tensor(acc, [batch, M, N]);
        matmul(ta, tb, { transB, out, accumulate: true });
        const ref = matmulRef(a, b, { M, N, K, transB, batch, broadcastB, accumulate: acc });
        assertClose(await be.read(out), ref.value, { scale: ref.scale, rtol: 2e-6 * Math.sqrt(K) + 1e-6, atol: 1e-6, what });
        for (const t of [ta, tb, out]) t.dispose();
      })));
    }
  }

  test('gatherRows, embedding and scatterAddRows over a table of 300 × 20 values in 4 KiB windows = at the device limits', async () => {
    const [V, C, N, P] = [300, 20, 40, 16];
    const table = randomF32(V * C, 11);
    const wpe = randomF32(P * C, 12);
    // Repeats, both ends of the table, and an id past it (clamped to the last row).
    const ids = Array.from({ length: N }, (_, i) => (i === 0 ? 0 : i === 1 ? V - 1 : i === 2 ? V + 5 : (i * 37) % V));
    const pos = Array.from({ length: N }, (_, i) => i % P);
    const src = randomF32(N * C, 13);
    const [whole, split] = await bothWays(SMALL, (be) => {
      const t = be.tensor(table, [V, C]);
      const gathered = be.zeros([N, C]);
      gatherRows(t, be.tensor(ids), gathered);
      const embedded = be.zeros([N, C]);
      embedding(be.tensor(ids), be.tensor(pos), t, be.tensor(wpe, [P, C]), embedded);
      const dst = be.tensor(table, [V, C]);
      scatterAddRows(be.tensor(src, [N, C]), rowIndex(be, ids.map((i) => Math.min(i, V - 1))), dst);
      return [gathered, embedded, dst];
    });
    for (const [i, what] of ['gatherRows', 'embedding', 'scatterAddRows'].entries()) assert.equal(split[i], whole[i], what);
  });

  test('softmaxCrossEntropy, tokenLogprobs and sampleTokens over logits of 50 × 97 in blocks of rows = at the device limits', async () => {
    const [N, V] = [50, 97];
    const logits = randomF32(N * V, 21).map((x) => 4 * x);
    const targets = Array.from({ length: N }, (_, i) => (i * 13) % V);
    const weights = Array.from({ length: N }, (_, i) => (i % 7 === 0 ? 0 : 1 + i / N));
    const [whole, split] = await bothWays(SMALL, (be) => {
      const l = be.tensor(logits, [N, V]);
      const t = be.tensor(targets);
      const losses = be.zeros([N]);
      const dlogits = be.zeros([N, V]);
      softmaxCrossEntropy(l, t, be.tensor(weights), losses, dlogits, { scale: 1.5 });
      const lossesOnly = be.zeros([N]);
      softmaxCrossEntropy(l, t, be.tensor(weights), lossesOnly);
      const [lp, ent] = [be.zeros([N]), be.zeros([N])];
      tokenLogprobs(l, t, lp, ent, { scale: 0.8 });
      const [greedy, sampled] = [be.zeros([N]), be.zeros([N])];
      sampleTokens(l, greedy, { temperature: 0, seed: 1, stream: 0, offset: 0 });
      sampleTokens(l, sampled, { temperature: 0.9, topK: 20, topP: 0.9, seed: 3, stream: 7, offset: 2 });
      return [losses, dlogits, lossesOnly, lp, ent, greedy, sampled];
    });
    for (const [i, what] of ['losses', 'dlogits', 'losses without dlogits', 'logprobs', 'entropies', 'greedy tokens', 'sampled tokens'].entries()) {
      assert.equal(split[i], whole[i], what);
    }
  });

  test('elementwise ops, AdamW and reductions over tensors across bindings and buffers', async () => {
    const n = 5000;
    const [x, y, g] = [randomF32(n, 31), randomF32(n, 32), randomF32(n, 33)];
    const [whole, split] = await bothWays({ binding: 4096, buffer: 8192 }, (be) => {
      const [tx, ty] = [be.tensor(x), be.tensor(y)];
      const sums = [add(tx, ty), scale(tx, 3)];
      const act = be.zeros([n]);
      gelu(tx, act);
      const gated = be.zeros([n]);
      swiglu(tx, ty, gated);
      // Each piece's Philox counters start at its first element.
      const dropped = be.tensor(y);
      dropout(tx, dropped, { seed: 5, stream: 9, offset: 2, p: 0.3, accumulate: true });
      const [p, m, v] = [be.tensor(x), be.zeros([n]), be.zeros([n])];
      const grad = be.tensor(g);
      const ss = sumSquares(grad);
      for (let step = 1; step <= 2; step++) adamw(p, grad, m, v, { lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, step, gradSumSquares: ss, maxGradNorm: 1 });
      // Rows of its own tensor: its buffers are cut between rows. Blocks of rows start on
      // aligned elements: 2 rows of 96 at a time, at least.
      const rows = be.tensor(x.subarray(0, 4800), [50, 96]);
      return [...sums, act, gated, dropped, p, m, v, ss, sum(tx), max(ty), sum(rows, { axis: -1 }), max(rows, { axis: -1 })];
    });
    const names = ['add', 'scale', 'gelu', 'swiglu', 'dropout', 'adamw param', 'adamw m', 'adamw v'];
    for (const [i, what] of names.entries()) assert.equal(split[i], whole[i], what);
    // Reductions add their pieces in another order.
    for (let i = names.length; i < whole.length; i++) assertClose(split[i]!, whole[i]!, { rtol: 1e-5, atol: 1e-5, what: `reduction ${i - names.length}` });
  });

  test('an op that does not split names the tensor, its size, the limit and what to do', () => capped(SMALL, async (be) => {
    const x = be.zeros([40, 30]);
    expectLimitError(() => layerNorm(x, be.zeros([30]), be.zeros([30]), be.zeros([40, 30]), be.zeros([40]), be.zeros([40]), 1e-5), 'layerNorm', '4800 bytes', '4096 bytes', 'maxStorageBufferBindingSize', 'wasm backend');
    x.dispose();
  }));

  const folder = (family: string) => (platform().fs ? `test/fixtures/hf-tiny/${family}` : `/test/fixtures/hf-tiny/${family}`);

  /** What a model computes on one batch: loss, logits and every gradient, then two AdamW steps, then generations. */
  async function modelRun(be: WebGPUBackend, family: string, tokens: TokenBatch) {
    // Two rows for GPT-2: its fused q, k, v [B·T, 96] must fit one binding (gatherHeads does not split).
    if (family === 'gpt2') tokens = { inputIds: tokens.inputIds.slice(0, 2), attentionMask: tokens.attentionMask!.slice(0, 2) };
    const model: CausalLM = await loadModel(be, folder(family));
    model.zeroGrad();
    model.forward(tokens);
    const loss = (await be.read(model.lmLoss()))[0]!;
    model.backward({ lm: true });
    const logits = await be.read(model.logits);
    const grads = await model.readGradients();
    const optimizer = new AdamW(model, { lr: 0.01 });
    optimizer.update();
    model.zeroGrad();
    model.forward(tokens);
    model.lmLoss();
    model.backward({ lm: true });
    optimizer.update();
    const params = await model.readParameters();
    const prompts = [[5, 17, 42, 8, 9], [61, 3]];
    const greedy = await generate(model, prompts, { do_sample: false, max_new_tokens: 5, eos_token_id: null });
    const sampled = await generate(model, prompts, { max_new_tokens: 5, temperature: 0.9, seed: 3, eos_token_id: null, top_k: 0 });
    optimizer.dispose();
    model.dispose();
    return { loss, logits, grads, params, generated: [...greedy, ...sampled].map((s) => s.ids) };
  }

  // 8 KiB bindings: the embedding (96 × 32), the logits and their gradient (27 × 96, Qwen2),
  // GPT-2's MLP weights and activations, the parameters, gradients and AdamW moments split;
  // everything else fits. 8 KiB buffers: parameters and gradients span many buffers, cut
  // between tensors and inside the embedding (12 KiB) between rows; the AdamW moments anywhere.
  for (const family of ['qwen2', 'gpt2'] as const) {
    test(`${family}: loss, logits, gradients, AdamW steps and KV-cache generation under 8 KiB bindings and buffers = at the device limits`, async () => {
      const be = await gpu();
      const tokens: TokenBatch = {
        inputIds: [[39, 13, 16, 8, 49, 18, 20, 50, 13], [38, 46, 34, 80, 81, 44, 0, 0, 0], [0, 0, 0, 61, 29, 9, 55, 23, 53]],
        attentionMask: [[1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1, 1, 1, 1]],
      };
      const whole = await modelRun(be, family, tokens);
      const split = await capped({ binding: 8192, buffer: 8192 }, (b) => modelRun(b, family, tokens));
      const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => assertClose(got, want, { rtol: 1e-5, atol: 1e-6, what: `${family} ${what}` });
      close([split.loss], [whole.loss], 'loss');
      close(split.logits, whole.logits, 'logits');
      for (const [name, g] of whole.grads) close(split.grads.get(name)!, g, `gradient of ${name}`);
      // AdamW moves each weight by about lr·m/√v, which amplifies the last bits in which the
      // gradients differ (K blocks sum in another order) where a gradient is near 0. A piece
      // left out or updated twice would be off by about lr (0.01).
      for (const [name, p] of whole.params) assertClose(split.params.get(name)!, p, { rtol: 0, atol: 1e-3, what: `${family} ${name} after two AdamW steps` });
      assert.equal(split.generated, whole.generated, `${family}: generated ids`);
    });
  }
}

test.run();
