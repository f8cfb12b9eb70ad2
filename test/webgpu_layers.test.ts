// WebGPU-only checks of the layer ops: both row strategies (a workgroup or one invocation per
// row), grids past 65535 workgroups, work that Mesa's gallivm would cut short (it ends an
// invocation's loops after 65535 iterations in total), and ops on views at non-zero offsets.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WebGPUBackend } from '../src/backend/webgpu/webgpu_backend.js';
import { rotaryFrequencies, rotaryTables } from '../src/nn/rotary.js';
import { assertClose, randomF32 } from './harness/reference.js';
import { causalSoftmaxRef, crossEntropyRef, layerNormBackwardRef, layerNormRef, rmsNormBackwardRef, rmsNormRef, rotaryRef } from './harness/layer_reference.js';
import { legBackend, legBackendInstance as backend, withSetting } from './harness/runtime.js';
import { adamw, causalSoftmax, causalSoftmaxBackward, columnSum, embedding, gatherRows, gelu, geluBackward, layerNorm, layerNormBackward, max, rmsNorm, rmsNormBackward, rotaryEmbedding, scale, scatterAddRows, softmaxCrossEntropy, sum, sumSquares } from 'webrlhf';

const test = suite('webgpu layers');

async function gpu(): Promise<WebGPUBackend> {
  const be = await backend();
  assert.instance(be, WebGPUBackend);
  return be as WebGPUBackend;
}

/** Runs `body` with the backend's row strategy set to `mode`, then restores the chosen one. */
async function withRows(mode: WebGPUBackend['rowKernels'], body: (be: WebGPUBackend) => Promise<void>): Promise<void> {
  const be = await gpu();
  await withSetting(be, 'rowKernels', mode, () => body(be));
}

/** LayerNorm's gradients in float64 (the shared suite checks this formula against finite differences). */
function layerNormGrads(dout: Float32Array, x: Float32Array, w: Float32Array, C: number, eps: number) {
  const { mean, rstd } = layerNormRef(x, w, new Float64Array(C), C, eps);
  return layerNormBackwardRef(dout, x, w, mean, rstd, C);
}

function softmaxBackwardRef(p: ArrayLike<number>, dp: ArrayLike<number>, rows: number, T: number): Float64Array {
  const out = new Float64Array(rows * T);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < T; j++) s += p[r * T + j]! * dp[r * T + j]!;
    for (let j = 0; j < T; j++) out[r * T + j] = p[r * T + j]! * (dp[r * T + j]! - s);
  }
  return out;
}

if (legBackend() === 'webgpu') {
  for (const mode of ['workgroup', 'invocation'] as const) {
    const per = mode === 'workgroup' ? 'a workgroup per row' : 'an invocation per row';
    // 70000 rows: past 65535 workgroups when each row has its own.
    for (const [N, C] of [[3, 5], [7, 100], [70_000, 4]] as const) {
      test(`layerNorm forward and backward, ${N}×${C}, ${per}`, () => withRows(mode, async (be) => {
        const eps = 1e-5;
        const x = randomF32(N * C, N + C).map((v, i) => 2 * v + (i % 3));
        const w = randomF32(C, 1).map((v) => 1 + v / 2);
        const b = randomF32(C, 2);
        const dout = randomF32(N * C, 3);
        const [tx, tw, tout, tmean, trstd] = [be.tensor(x, [N, C]), be.tensor(w), be.zeros([N, C]), be.zeros([N]), be.zeros([N])];
        layerNorm(tx, tw, be.tensor(b), tout, tmean, trstd, eps);
        const ref = layerNormRef(x, w, b, C, eps);
        assertClose(await be.read(tout), ref.out, { rtol: 1e-4, atol: 1e-5, what: 'out' });
        assertClose(await be.read(trstd), ref.rstd, { rtol: 1e-5, atol: 1e-6, what: 'rstd' });
        const [dx, dw, db] = [be.zeros([N, C]), be.zeros([C]), be.zeros([C])];
        layerNormBackward(be.tensor(dout, [N, C]), tx, tw, tmean, trstd, dx, dw, db);
        const g = layerNormGrads(dout, x, w, C, eps);
        assertClose(await be.read(dx), g.dx, { rtol: 1e-4, atol: 1e-5, what: 'dx' });
        // Column sums over 70000 rows run in several dispatches (the loop limit).
        const scale = (v: Float64Array) => v.map(() => N);
        assertClose(await be.read(dw), g.dw, { rtol: 1e-5, atol: 1e-5, scale: scale(g.dw), what: 'dweight' });
        assertClose(await be.read(db), g.db, { rtol: 1e-5, atol: 1e-5, scale: scale(g.db), what: 'dbias' });
        for (const t of [tx, tw, tout, tmean, trstd, dx, dw, db]) t.dispose();
      }));
    }

    // 4100 is past the widest row one invocation takes: a workgroup per row in both modes.
    for (const [N, C] of [[3, 5], [7, 100], [70_000, 4], [2, 4100]] as const) {
      test(`rmsNorm forward and backward, ${N}×${C}, ${per}`, () => withRows(mode, async (be) => {
        const eps = 1e-6;
        const x = randomF32(N * C, N + C + 7).map((v, i) => 2 * v + (i % 3));
        const w = randomF32(C, 8).map((v) => 1 + v / 2);
        const dout = randomF32(N * C, 9);
        const [tx, tw, tout, trstd] = [be.tensor(x, [N, C]), be.tensor(w), be.zeros([N, C]), be.zeros([N])];
        rmsNorm(tx, tw, tout, trstd, eps);
        const ref = rmsNormRef(x, w, C, eps);
        assertClose(await be.read(tout), ref.out, { rtol: 1e-4, atol: 1e-5, what: 'out' });
        assertClose(await be.read(trstd), ref.rstd, { rtol: 1e-5, atol: 1e-6, what: 'rstd' });
        const [dx, dw] = [be.zeros([N, C]), be.zeros([C])];
        rmsNormBackward(be.tensor(dout, [N, C]), tx, tw, trstd, dx, dw);
        const g = rmsNormBackwardRef(dout, x, w, ref.rstd, C);
        assertClose(await be.read(dx), g.dx, { rtol: 1e-4, atol: 1e-5, what: 'dx' });
        // Column sums over 70000 rows run in several dispatches (the loop limit).
        assertClose(await be.read(dw), g.dw, { rtol: 1e-5, atol: 1e-5, scale: g.dw.map(() => N), what: 'dweight' });
        for (const t of [tx, tw, tout, trstd, dx, dw]) t.dispose();
      }));
    }

    // [2, 4100, 8, 8]: 65600 rows. T = 70: rows not a multiple of the workgroup.
    for (const [B, H, T] of [[2, 3, 70], [2, 4100, 8]] as const) {
      test(`causalSoftmax forward and backward, [${B}, ${H}, ${T}, ${T}], ${per}`, () => withRows(mode, async (be) => {
        const n = B * H * T * T;
        const s = randomF32(n, T).map((v) => 4 * v);
        // Batch entry 0 pads its first keys (queries that see nothing); entry 1 pads inside.
        const mask = Array.from({ length: B * T }, (_, i) => (i < 3 || i % T === 5 ? 0 : 1));
        const [ts, tp, tds] = [be.tensor(s, [B, H, T, T]), be.zeros([B, H, T, T]), be.zeros([B, H, T, T])];
        causalSoftmax(ts, be.tensor(mask, [B, T]), tp);
        const want = causalSoftmaxRef(s, mask, B, H, T);
        const p = await be.read(tp);
        assertClose(p, want, { rtol: 1e-5, atol: 1e-6, what: 'probs' });
        const dp = randomF32(n, T + 1);
        causalSoftmaxBackward(be.tensor(dp, [B, H, T, T]), tp, tds);
        assertClose(await be.read(tds), softmaxBackwardRef(p, dp, B * H * T, T), { rtol: 1e-5, atol: 1e-6, what: 'dscores' });
        for (const t of [ts, tp, tds]) t.dispose();
      }));
    }
  }

  test('rotaryEmbedding past 65535 workgroups (70000 rows of 128), and in place', async () => {
    const be = await gpu();
    const [N, W, D, P] = [70_000, 128, 64, 50];
    const { cos, sin } = rotaryTables(rotaryFrequencies(D, 10000), P);
    const positions = Float32Array.from({ length: N }, (_, n) => (n * 7) % P);
    const x = randomF32(N * W, 6);
    const [tx, tpos, tcos, tsin, out] = [be.tensor(x, [N, W]), be.tensor(positions), be.tensor(cos, [P, D / 2]), be.tensor(sin, [P, D / 2]), be.zeros([N, W])];
    rotaryEmbedding(tx, tpos, tcos, tsin, out);
    const want = rotaryRef(x, positions, cos, sin, W, D / 2);
    assertClose(await be.read(out), want, { rtol: 1e-5, atol: 1e-6, what: 'out' });
    rotaryEmbedding(tx, tpos, tcos, tsin, tx);
    assertClose(await be.read(tx), want, { rtol: 1e-5, atol: 1e-6, what: 'in place' });
    for (const t of [tx, tpos, tcos, tsin, out]) t.dispose();
  });

  test('columnSum over 70000 rows (several dispatches)', async () => {
    const be = await gpu();
    const [N, C] = [70_000, 3];
    const x = randomF32(N * C, 4);
    const out = be.tensor([1, 2, 3]);
    columnSum(be.tensor(x, [N, C]), out);
    const want = [1, 2, 3].map((v, c) => {
      let s = v;
      for (let n = 0; n < N; n++) s += x[n * C + c]!;
      return s;
    });
    assertClose(await be.read(out), want, { rtol: 0, atol: 1e-3, what: 'columnSum' });
  });

  test('scatterAddRows: one group of 40000 rows (several windows) and many small groups', async () => {
    const be = await gpu();
    const [R, C, V] = [40_100, 70, 6];
    const dest = Array.from({ length: R }, (_, i) => (i < 40_000 ? 2 : i % 5));
    const src = randomF32(R * C, 5);
    const groups = new Map<number, number[]>();
    dest.forEach((d, i) => {
      if (!groups.has(d)) groups.set(d, []);
      groups.get(d)!.push(i);
    });
    const targets = [...groups.keys()].sort((a, b) => a - b);
    const order: number[] = [];
    const starts = [0];
    for (const t of targets) {
      order.push(...groups.get(t)!);
      starts.push(order.length);
    }
    const dst = be.tensor(new Float32Array(V * C).fill(1), [V, C]);
    scatterAddRows(be.tensor(src, [R, C]), { order: be.tensor(order), starts: be.tensor(starts), targets: be.tensor(targets), groups: targets.length }, dst);
    const want = new Float64Array(V * C).fill(1);
    for (let i = 0; i < R; i++) {
      for (let c = 0; c < C; c++) {
        const k = dest[i]! * C + c;
        want[k] = want[k]! + src[i * C + c]!;
      }
    }
    assertClose(await be.read(dst), want, { rtol: 0, atol: 2e-2, what: 'dst' });
  });

  test('embedding and gatherRows over 70000 rows', async () => {
    const be = await gpu();
    const [N, C, V, P] = [70_000, 3, 11, 5];
    const ids = Float32Array.from({ length: N }, (_, i) => (i * 7) % V);
    const pos = Float32Array.from({ length: N }, (_, i) => i % P);
    const wte = randomF32(V * C, 6);
    const wpe = randomF32(P * C, 7);
    const out = be.zeros([N, C]);
    embedding(be.tensor(ids), be.tensor(pos), be.tensor(wte, [V, C]), be.tensor(wpe, [P, C]), out);
    const got = await be.read(out);
    for (const n of [0, 1, 65_535, 65_536, N - 1]) {
      for (let c = 0; c < C; c++) assert.is(got[n * C + c], Math.fround(wte[ids[n]! * C + c]! + wpe[pos[n]! * C + c]!), `row ${n}`);
    }
    gatherRows(be.tensor(wte, [V, C]), be.tensor(ids), out);
    const rows = await be.read(out);
    for (const n of [0, 65_536, N - 1]) assert.equal([...rows.slice(n * C, n * C + C)], [...wte.slice(ids[n]! * C, ids[n]! * C + C)]);
  });

  for (const [rows, cols] of [[1, 2_000_003], [3, 600_001]] as const) {
    test(`long rows reduce in segments: [${rows}, ${cols}]`, async () => {
      const be = await gpu();
      const x = randomF32(rows * cols, 8).map((v) => v - 0.25);
      const t = be.tensor(x, [rows, cols]);
      const axis = rows === 1 ? 'all' : -1;
      for (const op of ['sum', 'max', 'sumSquares'] as const) {
        const want: number[] = [];
        const scale: number[] = [];
        for (let r = 0; r < rows; r++) {
          let a = op === 'max' ? -Infinity : 0;
          let s = 0;
          for (let c = 0; c < cols; c++) {
            const v = x[r * cols + c]!;
            a = op === 'sum' ? a + v : op === 'max' ? Math.max(a, v) : a + v * v;
            s += op === 'sumSquares' ? v * v : Math.abs(v);
          }
          want.push(a);
          scale.push(s);
        }
        assertClose(await be.read({ sum, max, sumSquares }[op](t, { axis })), want, { rtol: op === 'max' ? 0 : 1e-5, atol: 0, scale: op === 'max' ? undefined : scale, what: op });
      }
      t.dispose();
    });
  }

  test('disposing an input right after queueing its op (before any submit) is fine', async () => {
    const be = await gpu();
    const x = be.tensor([1, 2, 3, 4, 5]);
    const ss = sumSquares(x);
    const out = scale(x, 2);
    x.dispose(); // its buffer must outlive the queued commands that read it
    ss.dispose();
    assert.equal([...(await be.read(out))], [2, 4, 6, 8, 10]);
    // A long reduction's scratch partials, released inside the op, likewise.
    const big = be.tensor(new Float32Array(1_200_000).fill(0.5));
    const total = sum(big);
    big.dispose();
    assert.equal([...(await be.read(total))], [600_000]);
  });

  test('ops on views at non-zero offsets, outputs sharing one buffer', async () => {
    const be = await gpu();
    // Cross-entropy: logits at offset 64 of a buffer; losses and dlogits views of one other.
    const [N, V] = [3, 50];
    const logits = randomF32(N * V, 9).map((v) => 3 * v);
    const inputs = be.zeros([64 + N * V]);
    be.write(be.view(inputs, 64, [N * V]), logits);
    const outs = be.zeros([64 + 192]);
    const losses = be.view(outs, 0, [N]);
    const dlogits = be.view(outs, 64, [N, V]);
    const targets = [4, 0, 49];
    const weights = [1, 0, 0.5];
    softmaxCrossEntropy(be.view(inputs, 64, [N, V]), be.tensor(targets), be.tensor(weights), losses, dlogits);
    assertClose(await be.read(losses), crossEntropyRef(logits, targets, weights, V), { rtol: 1e-5, atol: 1e-6, what: 'losses' });
    const d = await be.read(dlogits);
    assert.ok(d.slice(V, 2 * V).every((v) => v === 0), 'a row of weight 0 has a zero gradient');
    assert.ok(Math.abs(d.slice(0, V).reduce((a, b) => a + b, 0)) < 1e-5, 'a row of dlogits sums to 0');

    // AdamW with param, m and v views of one buffer; what lies between them is left alone,
    // also in the last, partial vec4 (n is not a multiple of 4).
    const n = 101;
    const state = be.tensor(new Float32Array(3 * 128).fill(5));
    const [p, m, v] = [0, 128, 256].map((o) => be.view(state, o, [n]));
    be.zero(m!);
    be.zero(v!);
    const g = randomF32(n, 10);
    adamw(p!, be.tensor(g), m!, v!, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 });
    const all = await be.read(state);
    for (let i = 0; i < n; i++) {
      // Step 1 without decay: p − lr·sign(g) (up to eps), m = 0.1g, v = 0.001g².
      assert.ok(Math.abs(all[i]! - (5 - 0.1 * Math.sign(g[i]!))) < 1e-4, `param ${i}`);
      assert.ok(Math.abs(all[128 + i]! - 0.1 * g[i]!) < 1e-6, `m ${i}`);
    }
    assert.ok(all.slice(n, 128).every((x) => x === 5) && all.slice(256 + n).every((x) => x === 5), 'gaps untouched');

    // GELU and its backward into a 7-value view: the 8th value (same vec4) is left alone.
    const host = be.tensor(new Float32Array(64 + 16).fill(3));
    const xs = be.tensor([-2, -1, -0.5, 0, 0.5, 1, 2]);
    gelu(xs, be.view(host, 64, [7]));
    geluBackward(be.tensor(new Float32Array(7).fill(1)), xs, be.view(host, 0, [7]));
    const h = await be.read(host);
    assert.is(h[7], 3, 'after the backward view');
    assert.is(h[64 + 7], 3, 'after the forward view');
    assert.ok(Math.abs(h[64 + 6]! - 1.9545977) < 1e-5 && Math.abs(h[3]! - 0.5) < 1e-6, 'values inside the views');
  });
}

test.run();
