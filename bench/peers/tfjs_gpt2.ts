/**
 * Benchmark peer: one GPT-2 training step written with TensorFlow.js, the same model and the
 * same step webrlhf runs, for side-by-side figures (bench/train_step.ts), and greedy
 * generation with that model (bench/peers/tfjs_generate.ts).
 *
 * Model (GPT-2, pre-LayerNorm):
 *   x  = wte[ids] + wpe[0..T)                      wte [V,C], wpe [T,C]
 *   per block:  x += c_proj(attn(ln_1(x)))         c_attn [C,3C]+b, c_proj [C,C]+b, causal, H heads
 *               x += mlp_proj(gelu(c_fc(ln_2(x)))) c_fc [C,4C]+b, c_proj [4C,C]+b, tanh-GELU
 *   logits = ln_f(x) · wteᵀ                        (tied LM head, no bias)
 *   loss   = mean over the B·T tokens of cross-entropy(logits, targets)
 * LayerNorm eps 1e-5. Optimiser: AdamW (lr 1e-3, β 0.9/0.999, eps 1e-8 added to √v̂, decoupled
 * weight decay 0.01 on ALL parameters, biases/LayerNorm/embeddings included, applied as
 * p ← p·(1 − lr·wd) before the Adam update, as torch.optim.AdamW does), after global-norm
 * gradient clipping at 1.0 (torch's clip_grad_norm_: g ← g·min(1, 1/(‖g‖+1e-6))).
 *
 * Initialisation (deterministic from `seed`, see {@link gpt2ParamSpecs}/{@link initGPT2Params},
 * so another implementation can start from the very same weights): matrices and embeddings
 * N(0, 0.02), the two residual projections (attn c_proj, mlp c_proj) N(0, 0.02/√(2L)), biases 0,
 * LayerNorm gains 1 and shifts 0.
 *
 * TF.js specifics: linear layers are tf.fused.matMul with bias; attention is batched matMul over
 * [B·H,T,D] with an additive causal mask (0 / −1e9) before tf.softmax; the loss is
 * tf.losses.softmaxCrossEntropy on one-hot float targets; gradients come from tf.variableGrads.
 * The token embedding is tf.gather where the backend can differentiate it (its gradient is
 * UnsortedSegmentSum, which the wasm backend lacks); there it is oneHot(ids)·wte instead.
 * Generation (nextTokens) runs the same blocks on a [B, t ≤ T] prefix (the mask and wpe sliced),
 * gathers embeddings on every backend (no gradient) and applies the LM head to the last position only.
 */
import { normalSampler, uniformSampler } from '../../src/nn/init.js';
import type * as TFCore from '@tensorflow/tfjs-core';

/** The `@tensorflow/tfjs-core` module, with a backend set. */
export type TF = typeof TFCore;

export interface GPT2Config {
  /** Width (n_embd). */
  C: number;
  /** Number of transformer blocks. */
  L: number;
  /** Attention heads; C must be divisible by H. */
  H: number;
  /** Vocabulary size. */
  V: number;
  /** Sequence length of a training step; also the number of learned positions, so the longest prefix generation takes. */
  T: number;
  /** Batch size (sequences per step). */
  B: number;
  /** Seed for the initial weights. */
  seed?: number;
  /** Multiplies every initial standard deviation (default 1; tests use large weights). */
  initScale?: number;
}

export interface TrainOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay, applied to every parameter. */
  weightDecay?: number;
  /** Global-norm clipping threshold; 0 or Infinity turns clipping off. */
  clipNorm?: number;
  /** How to embed tokens; 'auto' uses gather when the backend has UnsortedSegmentSum. */
  embedding?: 'auto' | 'gather' | 'onehot';
}

export const DEFAULT_TRAIN: Required<TrainOptions> = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, clipNorm: 1, embedding: 'auto' };

export interface TfjsGPT2 {
  readonly config: Readonly<GPT2Config>;
  readonly options: Readonly<Required<TrainOptions>>;
  /** The embedding actually used ('auto' resolved). */
  readonly embedding: 'gather' | 'onehot';
  /** Number of trainable scalars. */
  readonly numParams: number;
  /**
   * One training step on a batch: forward, backward, clipping, AdamW update. `inputIds` and
   * `targets` are B·T token ids, row-major [B,T]. Resolves with the loss (before the update)
   * once the loss has been read back, which is after all of the step's device work.
   */
  step(inputIds: Int32Array, targets: Int32Array): Promise<number>;
  /**
   * The same step for any loss of the logits [b·t, V] of a forward over `inputIds` ([b, t],
   * t ≤ config.T): the preference losses (DPO) use it.
   */
  stepWith(inputIds: Int32Array, b: number, t: number, loss: (logits: TFCore.Tensor2D) => TFCore.Scalar): Promise<number>;
  /** The logits [b·t, V] as a tensor the caller owns (no gradient): a frozen reference's. */
  logitsTensor(inputIds: Int32Array, b: number, t: number): TFCore.Tensor2D;
  /** Loss only (no gradients, no update). */
  loss(inputIds: Int32Array, targets: Int32Array): Promise<number>;
  /**
   * Greedy next tokens: a full forward pass over the ids (row-major [B,T], any B, T ≤ config.T;
   * no cache), then the argmax of each row's logits at its last position. Resolves with B ids.
   */
  nextTokens(inputIds: Int32Array, B: number, T: number): Promise<Int32Array>;
  /** The logits [B·T, V] (row-major) of the training forward pass over [B,T] ids, T ≤ config.T. */
  logits(inputIds: Int32Array, B: number, T: number): Promise<Float32Array>;
  /** Frees the weights, the optimiser's state and the mask. */
  dispose(): void;
}

// ---------------------------------------------------------------------------------------------
// Parameters

export interface ParamSpec {
  /** GPT-2 style name, e.g. 'h.0.attn.c_attn.weight'. */
  name: string;
  shape: number[];
  init: { kind: 'normal'; std: number } | { kind: 'zeros' } | { kind: 'ones' };
}

/**
 * The parameters in creation order (the order {@link initGPT2Params} draws random numbers in).
 * Weight matrices are stored [in, out] (x·W), as GPT-2's Conv1D does.
 */
export function gpt2ParamSpecs({ C, L, V, T }: GPT2Config): ParamSpec[] {
  const normal = (std: number) => ({ kind: 'normal', std }) as const;
  const zeros = { kind: 'zeros' } as const;
  const ones = { kind: 'ones' } as const;
  const residualStd = 0.02 / Math.sqrt(2 * L);
  const specs: ParamSpec[] = [
    { name: 'wte', shape: [V, C], init: normal(0.02) },
    { name: 'wpe', shape: [T, C], init: normal(0.02) },
  ];
  for (let l = 0; l < L; l++) {
    const p = `h.${l}.`;
    specs.push(
      { name: `${p}ln_1.weight`, shape: [C], init: ones },
      { name: `${p}ln_1.bias`, shape: [C], init: zeros },
      { name: `${p}attn.c_attn.weight`, shape: [C, 3 * C], init: normal(0.02) },
      { name: `${p}attn.c_attn.bias`, shape: [3 * C], init: zeros },
      { name: `${p}attn.c_proj.weight`, shape: [C, C], init: normal(residualStd) },
      { name: `${p}attn.c_proj.bias`, shape: [C], init: zeros },
      { name: `${p}ln_2.weight`, shape: [C], init: ones },
      { name: `${p}ln_2.bias`, shape: [C], init: zeros },
      { name: `${p}mlp.c_fc.weight`, shape: [C, 4 * C], init: normal(0.02) },
      { name: `${p}mlp.c_fc.bias`, shape: [4 * C], init: zeros },
      { name: `${p}mlp.c_proj.weight`, shape: [4 * C, C], init: normal(residualStd) },
      { name: `${p}mlp.c_proj.bias`, shape: [C], init: zeros },
    );
  }
  specs.push({ name: 'ln_f.weight', shape: [C], init: ones }, { name: 'ln_f.bias', shape: [C], init: zeros });
  return specs;
}

/** Seeded uniforms and normals: webrlhf's own generators (src/nn/init.ts), so both sides can share draws. */
export function seededRandom(seed: number): { uniform(): number; normal(): number } {
  return { uniform: uniformSampler(seed), normal: normalSampler(seed) };
}

/** The initial weights for `config.seed` (default 1), by name, in {@link gpt2ParamSpecs} order. */
export function initGPT2Params(config: GPT2Config): Map<string, Float32Array> {
  const rng = seededRandom(config.seed ?? 1);
  const out = new Map<string, Float32Array>();
  for (const spec of gpt2ParamSpecs(config)) {
    const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
    if (spec.init.kind === 'ones') data.fill(1);
    else if (spec.init.kind === 'normal') {
      const std = spec.init.std * (config.initScale ?? 1);
      for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
    }
    out.set(spec.name, data);
  }
  return out;
}

/** A batch of uniformly random tokens: targets are the inputs shifted by one (a B×(T+1) draw). */
export function randomBatch({ B, T, V }: GPT2Config, seed = 7): { inputIds: Int32Array; targets: Int32Array } {
  const rng = seededRandom(seed);
  const inputIds = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let prev = Math.floor(rng.uniform() * V);
    for (let t = 0; t < T; t++) {
      const next = Math.floor(rng.uniform() * V);
      inputIds[b * T + t] = prev;
      targets[b * T + t] = next;
      prev = next;
    }
  }
  return { inputIds, targets };
}

// ---------------------------------------------------------------------------------------------
// Model

let instanceCounter = 0;

/** Builds the model on TF.js's current backend (call tf.setBackend first). */
export function createTfjsGPT2(tf: TF, config: GPT2Config, train: TrainOptions = {}): TfjsGPT2 {
  const { C, L, H, V, T, B } = config;
  if (C % H !== 0) throw new Error(`C=${C} is not divisible by H=${H}`);
  const D = C / H;
  const opts: Required<TrainOptions> = { ...DEFAULT_TRAIN, ...train };
  const embedding = opts.embedding === 'auto' ? (tf.getKernel('UnsortedSegmentSum', tf.getBackend()) ? 'gather' : 'onehot') : opts.embedding;

  // Variable names are global to TF.js's engine: keep each instance's apart.
  const prefix = `gpt2_${++instanceCounter}/`;
  const specs = gpt2ParamSpecs(config);
  const init = initGPT2Params(config);
  const vars = new Map<string, TFCore.Variable>();
  for (const spec of specs) {
    // The variable shares the initial tensor's data; the tensor itself is dropped, or it would keep that data past dispose().
    const initial = tf.tensor(init.get(spec.name)!, spec.shape, 'float32');
    vars.set(spec.name, tf.variable(initial, true, prefix + spec.name));
    initial.dispose();
  }
  const varList = [...vars.values()];
  const numParams = varList.reduce((n, v) => n + v.size, 0);
  const P = (name: string) => vars.get(name)!;

  // Additive causal mask [T,T]: 0 where key ≤ query, −1e9 above the diagonal.
  const maskData = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) maskData[i * T + j] = -1e9;
  const mask = tf.tensor2d(maskData, [T, T]);
  const attnScale = 1 / Math.sqrt(D);
  const geluK = Math.sqrt(2 / Math.PI);

  const optimizer = tf.train.adam(opts.lr, opts.beta1, opts.beta2, opts.eps);

  const layerNorm = (x: TFCore.Tensor2D, g: TFCore.Tensor, b: TFCore.Tensor): TFCore.Tensor2D => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b);
  };
  const linear = (x: TFCore.Tensor2D, w: string, b: string): TFCore.Tensor2D => tf.fused.matMul({ a: x, b: P(w) as TFCore.Tensor2D, bias: P(b) }) as TFCore.Tensor2D;
  const gelu = (x: TFCore.Tensor2D): TFCore.Tensor2D => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), geluK);
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  };
  // The forward pass takes its batch shape [b, t] per call (t ≤ T): training runs [B, T],
  // generation shorter and shorter prefixes of it.
  /** The first `rows`×`cols` of a 2-D tensor; the tensor itself when that is all of it (the training graph stays as it was). */
  const topLeft = (x: TFCore.Tensor, rows: number, cols: number): TFCore.Tensor2D =>
    (x.shape[0] === rows && x.shape[1] === cols ? x : tf.slice(x, [0, 0], [rows, cols])) as TFCore.Tensor2D;
  /** [b·t, C] → [b·H, t, D] */
  const toHeads = (x: TFCore.Tensor, b: number, t: number): TFCore.Tensor3D => tf.reshape(tf.transpose(tf.reshape(x, [b, t, H, D]), [0, 2, 1, 3]), [b * H, t, D]);

  const attention = (x: TFCore.Tensor2D, p: string, b: number, t: number): TFCore.Tensor2D => {
    const qkv = linear(x, `${p}attn.c_attn.weight`, `${p}attn.c_attn.bias`); // [b·t, 3C]
    const [q, k, v] = tf.split(qkv, 3, 1) as [TFCore.Tensor2D, TFCore.Tensor2D, TFCore.Tensor2D];
    const scores = tf.add(tf.matMul(toHeads(tf.mul(q, attnScale), b, t), toHeads(k, b, t), false, true), topLeft(mask, t, t)); // [b·H, t, t]
    const y = tf.matMul(tf.softmax(scores), toHeads(v, b, t)); // [b·H, t, D]
    const merged = tf.reshape(tf.transpose(tf.reshape(y, [b, H, t, D]), [0, 2, 1, 3]), [b * t, C]) as TFCore.Tensor2D;
    return linear(merged, `${p}attn.c_proj.weight`, `${p}attn.c_proj.bias`);
  };

  // int32 then cast: the wasm backend's OneHot kernel ignores the dtype and writes int32.
  const oneHot = (ids: TFCore.Tensor1D) => tf.cast(tf.oneHot(ids, V), 'float32');

  /** The residual stream [b·t, C] after the last block. */
  const blocks = (ids: TFCore.Tensor1D, b: number, t: number, embed: 'gather' | 'onehot'): TFCore.Tensor2D => {
    const tok = embed === 'gather' ? tf.gather(P('wte'), ids) : tf.matMul(oneHot(ids), P('wte'));
    let x = tf.reshape(tf.add(tf.reshape(tok, [b, t, C]), topLeft(P('wpe'), t, C)), [b * t, C]) as TFCore.Tensor2D;
    for (let l = 0; l < L; l++) {
      const p = `h.${l}.`;
      x = tf.add(x, attention(layerNorm(x, P(`${p}ln_1.weight`), P(`${p}ln_1.bias`)), p, b, t));
      const h = gelu(linear(layerNorm(x, P(`${p}ln_2.weight`), P(`${p}ln_2.bias`)), `${p}mlp.c_fc.weight`, `${p}mlp.c_fc.bias`));
      x = tf.add(x, linear(h, `${p}mlp.c_proj.weight`, `${p}mlp.c_proj.bias`));
    }
    return x;
  };
  /** ln_f, then the tied LM head: [n, C] → logits [n, V]. */
  const head = (x: TFCore.Tensor2D): TFCore.Tensor2D => tf.matMul(layerNorm(x, P('ln_f.weight'), P('ln_f.bias')), P('wte'), false, true);
  const logitsOf = (ids: TFCore.Tensor1D, b: number, t: number): TFCore.Tensor2D => head(blocks(ids, b, t, embedding));

  const lossOf = (ids: TFCore.Tensor1D, targets: TFCore.Tensor1D): TFCore.Scalar =>
    tf.losses.softmaxCrossEntropy(oneHot(targets), logitsOf(ids, B, T)) as TFCore.Scalar;

  const checkBatch = (inputIds: Int32Array, targets: Int32Array) => {
    if (inputIds.length !== B * T || targets.length !== B * T) throw new Error(`expected ${B * T} input ids and targets, got ${inputIds.length} and ${targets.length}`);
  };
  const checkPrefix = (inputIds: Int32Array, b: number, t: number) => {
    if (!(Number.isInteger(b) && Number.isInteger(t) && b >= 1 && t >= 1 && t <= T)) throw new Error(`batch [${b}, ${t}]: need B ≥ 1 and 1 ≤ T ≤ ${T}`);
    if (inputIds.length !== b * t) throw new Error(`expected ${b * t} input ids for [${b}, ${t}], got ${inputIds.length}`);
  };

  return {
    config: { ...config },
    options: opts,
    embedding,
    numParams,
    async step(inputIds, targets) {
      checkBatch(inputIds, targets);
      const tgt = tf.tensor1d(targets, 'int32');
      try {
        // Mean over the B·T tokens (SUM_BY_NONZERO_WEIGHTS with no weights divides by the count).
        return await this.stepWith(inputIds, B, T, (logits) => tf.losses.softmaxCrossEntropy(oneHot(tgt), logits) as TFCore.Scalar);
      } finally {
        tgt.dispose();
      }
    },
    async stepWith(inputIds, b, t, lossOfLogits) {
      checkPrefix(inputIds, b, t);
      const ids = tf.tensor1d(inputIds, 'int32');
      const { value, grads } = tf.variableGrads(() => lossOfLogits(logitsOf(ids, b, t)), varList);
      const clipped = tf.tidy(() => {
        if (!(opts.clipNorm > 0 && Number.isFinite(opts.clipNorm))) return { ...grads };
        // Pairwise sums, not tf.addN: webgpu's AddN binds every input at once, past the
        // 8 storage buffers per stage of a compatibility-level device.
        let parts = Object.values(grads).map((g) => tf.sum(tf.square(g)));
        while (parts.length > 1) parts = parts.flatMap((p, i) => (i % 2 ? [] : [i + 1 < parts.length ? tf.add(p, parts[i + 1]!) : p]));
        const norm = tf.sqrt(parts[0]!);
        const scale = tf.minimum(1, tf.div(opts.clipNorm, tf.add(norm, 1e-6)));
        const out: Record<string, TFCore.Tensor> = {};
        for (const [name, g] of Object.entries(grads)) out[name] = tf.mul(g, scale);
        return out;
      });
      if (opts.weightDecay > 0) {
        const keep = 1 - opts.lr * opts.weightDecay;
        tf.tidy(() => {
          for (const v of varList) v.assign(tf.mul(v, keep));
        });
      }
      optimizer.applyGradients(clipped as TFCore.NamedTensorMap as Parameters<typeof optimizer.applyGradients>[0]);
      tf.dispose([ids, grads, clipped]);
      // Read after the update was queued: the readback waits for all of the step's work.
      const loss = (await value.data())[0]!;
      value.dispose();
      return loss;
    },
    logitsTensor(inputIds, b, t) {
      checkPrefix(inputIds, b, t);
      return tf.tidy(() => logitsOf(tf.tensor1d(inputIds, 'int32'), b, t));
    },
    async loss(inputIds, targets) {
      checkBatch(inputIds, targets);
      const value = tf.tidy(() => lossOf(tf.tensor1d(inputIds, 'int32'), tf.tensor1d(targets, 'int32')));
      const loss = (await value.data())[0]!;
      value.dispose();
      return loss;
    },
    async nextTokens(inputIds, b, t) {
      checkPrefix(inputIds, b, t);
      const next = tf.tidy(() => {
        // No gradient here, so embeddings are gathered on every backend.
        const x = blocks(tf.tensor1d(inputIds, 'int32'), b, t, 'gather');
        // Only the last position's logits are needed: slice before the LM head ([b, V], not [b·t, V]).
        const last = tf.reshape(tf.slice(tf.reshape(x, [b, t, C]), [0, t - 1, 0], [b, 1, C]), [b, C]) as TFCore.Tensor2D;
        return tf.argMax(head(last), 1);
      });
      const ids = Int32Array.from(await next.data());
      next.dispose();
      return ids;
    },
    async logits(inputIds, b, t) {
      checkPrefix(inputIds, b, t);
      const logits = tf.tidy(() => logitsOf(tf.tensor1d(inputIds, 'int32'), b, t));
      const data = (await logits.data()) as Float32Array;
      logits.dispose();
      return data;
    },
    dispose() {
      optimizer.dispose();
      tf.dispose([...varList, mask]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Measurement

export interface MeasureOptions {
  /** Untimed steps first (shader compilation, pools); at least 2. */
  warmup?: number;
  /** Timed steps continue until both minSteps and minSeconds are reached... */
  minSteps?: number;
  minSeconds?: number;
  /** ...or until maxSteps or maxSeconds (the latter after at least one timed step). */
  maxSteps?: number;
  maxSeconds?: number;
  /** When the last warm-up step took longer than this, only one step is timed. */
  slowStepSeconds?: number;
  /** Seed of the random batch (the same batch every step). */
  batchSeed?: number;
  /** Called after each step (warm-up and timed) with its loss and duration. */
  onStep?: (info: { phase: 'warmup' | 'timed' | 'memory'; index: number; loss: number; ms: number }) => void;
}

export interface TfjsMemory {
  /** Highest tf.memory().numBytes (bytes of live tensors, any backend) seen during one step. */
  peakTensorBytes: number;
  /** tf.memory().numBytes between steps: weights, Adam moments, mask. */
  steadyTensorBytes: number;
  /** webgpu: bytes of GPU buffers TF.js's buffer manager holds (in use + pooled), after the run. */
  gpuBytesAllocated?: number;
  /** webgpu: bytes of GPU buffers in use, between steps. */
  gpuBytesInUse?: number;
  /** wasm: size of the WebAssembly heap (it never shrinks, so a high-water mark). */
  wasmHeapBytes?: number;
}

export interface TfjsMeasurement {
  backend: string;
  config: GPT2Config;
  embedding: 'gather' | 'onehot';
  numParams: number;
  tokensPerStep: number;
  warmupMs: number[];
  /** Durations of the timed steps. */
  stepMs: number[];
  /** Median of stepMs. */
  msPerStep: number;
  meanMsPerStep: number;
  /** B·T / median step time. */
  tokensPerSecond: number;
  /** Losses of every step, in order (warm-up, timed, memory step). */
  losses: number[];
  memory: TfjsMemory;
}

/**
 * Measures {@link createTfjsGPT2}'s step on TF.js's current backend: warm-up steps, timed steps
 * (each ends with the loss read back, so the device work is inside the timing), then one more
 * step with a hook on the engine's tensor accounting for the peak of tf.memory().numBytes (kept
 * out of the timed steps). The model is disposed afterwards.
 */
export async function measureTfjsGPT2(tf: TF, config: GPT2Config, options: MeasureOptions & { train?: TrainOptions } = {}): Promise<TfjsMeasurement> {
  const { warmup = 2, minSteps = 3, minSeconds = 3, maxSteps = 20, maxSeconds = 30, slowStepSeconds = 60, batchSeed = 7, onStep } = options;
  const model = createTfjsGPT2(tf, config, options.train);
  const { inputIds, targets } = randomBatch(config, batchSeed);
  const losses: number[] = [];
  const errorsBefore = webgpuErrors.count;
  const run = async (phase: 'warmup' | 'timed' | 'memory', index: number) => {
    const t0 = performance.now();
    const loss = await model.step(inputIds, targets);
    const ms = performance.now() - t0;
    losses.push(loss);
    onStep?.({ phase, index, loss, ms });
    return ms;
  };
  try {
    const warmupMs: number[] = [];
    for (let i = 0; i < Math.max(2, warmup); i++) warmupMs.push(await run('warmup', i));
    const slow = warmupMs[warmupMs.length - 1]! > slowStepSeconds * 1000;
    const stepMs: number[] = [];
    const start = performance.now();
    for (;;) {
      stepMs.push(await run('timed', stepMs.length));
      const elapsed = (performance.now() - start) / 1000;
      if (slow || stepMs.length >= maxSteps || elapsed >= maxSeconds) break;
      if (stepMs.length >= minSteps && elapsed >= minSeconds) break;
    }
    if (webgpuErrors.count > errorsBefore) throw new Error(`${webgpuErrors.count - errorsBefore} WebGPU errors during the steps, the first: ${webgpuErrors.last}`);
    const steadyTensorBytes = tf.memory().numBytes;
    const backendMemory = tf.memory() as { numBytesInGPU?: number };
    const peakTensorBytes = await peakBytesDuring(tf, () => run('memory', 0));
    const memory: TfjsMemory = { peakTensorBytes, steadyTensorBytes };
    const after = tf.memory() as { numBytesAllocatedInGPU?: number };
    if (after.numBytesAllocatedInGPU !== undefined) {
      memory.gpuBytesAllocated = after.numBytesAllocatedInGPU;
      memory.gpuBytesInUse = backendMemory.numBytesInGPU;
    }
    const heap = (tf.backend() as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8;
    if (heap) memory.wasmHeapBytes = heap.buffer.byteLength;
    const sorted = [...stepMs].sort((a, b) => a - b);
    const msPerStep = sorted[Math.floor(sorted.length / 2)]!;
    const tokensPerStep = config.B * config.T;
    return {
      backend: tf.getBackend(),
      config: { ...config },
      embedding: model.embedding,
      numParams: model.numParams,
      tokensPerStep,
      warmupMs,
      stepMs,
      msPerStep,
      meanMsPerStep: stepMs.reduce((a, b) => a + b, 0) / stepMs.length,
      tokensPerSecond: tokensPerStep / (msPerStep / 1000),
      losses,
      memory,
    };
  } finally {
    model.dispose();
  }
}

/**
 * Highest count of live tensor bytes in TF.js's engine while `fn` runs, from a hook on the
 * engine's tensor tracking (tf.profile would give the same figure but reads every kernel's
 * output back on backends without a timer).
 */
export async function peakBytesDuring(tf: TF, fn: () => Promise<unknown>): Promise<number> {
  const engine = tf.engine() as unknown as { state: { numBytes: number }; trackTensor: (...args: unknown[]) => unknown };
  const original = engine.trackTensor;
  let peak = engine.state.numBytes;
  engine.trackTensor = function (this: typeof engine, ...args: unknown[]) {
    const r = original.apply(this, args);
    if (this.state.numBytes > peak) peak = this.state.numBytes;
    return r;
  };
  try {
    await fn();
  } finally {
    engine.trackTensor = original;
  }
  return peak;
}

// ---------------------------------------------------------------------------------------------
// Backends

/**
 * Registers TF.js's gradient functions if they are missing. Node resolves `@tensorflow/tfjs-core`
 * to its CommonJS bundle, which has no gradients (the union package @tensorflow/tfjs adds them),
 * so they are bundled here from tfjs-core's ES modules. The two copies share TF.js's engine and
 * kernel/gradient registries, which live on globalThis.
 */
export async function ensureTfjsGradients(tf: TF): Promise<void> {
  if (tf.getGradient('RealDiv')) return;
  await import('../../node_modules/@tensorflow/tfjs-core/dist/register_all_gradients.js');
  if (!tf.getGradient('RealDiv')) throw new Error('TF.js gradients could not be registered');
}

/**
 * TF.js's webgpu backend on a given `GPU` object (in Node, Dawn's from the npm package `webgpu`).
 * TF.js requests its adapter without a feature level, so the request is wrapped to ask for the
 * one the GPU needs (Dawn's OpenGL ES backend on llvmpipe is compatibility-only). Node's event
 * loop is not kept alive by Dawn's pending promises: callers keep an interval running meanwhile.
 */
export async function loadTfjsWebGPU(gpu: GPU, featureLevel: string): Promise<TF> {
  const wrapped = { requestAdapter: (o: GPURequestAdapterOptions = {}) => gpu.requestAdapter({ ...o, featureLevel } as GPURequestAdapterOptions), getPreferredCanvasFormat: () => 'rgba8unorm' };
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: wrapped, userAgent: 'node' }, configurable: true });
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs webgpu backend failed to initialise');
  await tf.ready();
  await ensureTfjsGradients(tf);
  // A rejected pipeline or command buffer only shows as a console message, and the work in it is
  // dropped: count such errors so that measurements can refuse them.
  const device = (tf.backend() as { device?: GPUDevice }).device;
  if (device && !watchedDevices.has(device)) {
    watchedDevices.add(device);
    device.addEventListener('uncapturederror', (e) => {
      webgpuErrors.count++;
      webgpuErrors.last ??= (e as GPUUncapturedErrorEvent).error?.message?.split('\n')[0] ?? 'unknown';
    });
  }
  return tf;
}

const watchedDevices = new WeakSet<GPUDevice>();
/** WebGPU errors TF.js's device has raised since {@link loadTfjsWebGPU} (the first one's message). */
export const webgpuErrors: { count: number; last?: string } = { count: 0 };

export interface TfjsWasmInfo {
  simd: boolean;
  threads: boolean;
  /** What the backend runs with, e.g. 'SIMD, 1 thread'. */
  description: string;
}

/**
 * TF.js's wasm backend. In Node, TF.js 4.22 turns its threaded build off
 * (WASM_HAS_MULTITHREAD_SUPPORT is false under IS_NODE, tensorflow/tfjs#3830), so it runs the
 * SIMD build on one thread.
 */
export async function loadTfjsWasm(): Promise<{ tf: TF; info: TfjsWasmInfo }> {
  await import('@tensorflow/tfjs-backend-wasm');
  const tf = await import('@tensorflow/tfjs-core');
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed to initialise');
  await tf.ready();
  await ensureTfjsGradients(tf);
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  const threads = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) as boolean;
  return { tf, info: { simd, threads, description: `${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'threads' : '1 thread'}` } };
}

export type TfjsBackendName = 'webgpu' | 'wasm';

export interface TfjsBackendOptions {
  /** For webgpu: the `GPU` object (Dawn's in Node) and the feature level its adapter needs. */
  gpu?: GPU;
  featureLevel?: string;
  /** Shown as the webgpu backend's detail. */
  adapterName?: string;
}

/** Starts one of TF.js's backends; `detail` names what it runs on (the adapter, or SIMD/threads for wasm). */
export async function loadTfjsBackend(backend: TfjsBackendName, options: TfjsBackendOptions = {}): Promise<{ tf: TF; detail: string }> {
  if (backend === 'wasm') {
    const { tf, info } = await loadTfjsWasm();
    return { tf, detail: info.description };
  }
  if (!options.gpu) throw new Error('no GPU object given');
  return { tf: await loadTfjsWebGPU(options.gpu, options.featureLevel ?? 'core'), detail: options.adapterName ?? 'webgpu' };
}

/**
 * Runs `run` for each item on a freshly started `backend`. TF.js is one engine per process: it is
 * reset (all its backends and tensors dropped) between items, so that each item's backend memory
 * (webgpu buffer pool, wasm heap; neither shrinks) and any failure stay its own, and at the end,
 * so run this before or after other TF.js work, not interleaved. A failure to start or in `run`
 * becomes `failed(item, detail, first line of the error)`.
 */
export async function forEachOnFreshTfjs<I, R>(
  backend: TfjsBackendName,
  items: readonly I[],
  options: TfjsBackendOptions,
  run: (tf: TF, item: I, detail: string) => Promise<R>,
  failed: (item: I, detail: string, error: string) => R,
): Promise<R[]> {
  const out: R[] = [];
  const reset = async () => (await import('@tensorflow/tfjs-core')).engine().reset();
  for (const [i, item] of items.entries()) {
    let detail = '';
    try {
      if (i > 0) await reset();
      const loaded = await loadTfjsBackend(backend, options);
      detail = loaded.detail;
      out.push(await run(loaded.tf, item, detail));
    } catch (e) {
      out.push(failed(item, detail, e instanceof Error ? e.message.split('\n')[0]! : String(e)));
    }
  }
  // Leave TF.js clean for whatever runs next in the process. A backend that aborted (TF.js
  // wasm out of memory) throws from its own dispose: the rows already say it failed.
  await reset().catch(() => {});
  return out;
}
