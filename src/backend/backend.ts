import { ShapeError, TensorStateError } from '../errors.js';
import { checkSameShape, checkShape, fmt, lastAxisGeometry, matmulGeometry, sizeOf, type MatmulGeometry, type Shape } from './shapes.js';
import { MAX_CACHED_HEAD_DIM, VIEW_ALIGN, expect, headsGeometry, type AdamWStep, type CachedAttentionGeometry, type HeadsGeometry, type RowIndex } from './layer_ops.js';
import {
  BRADLEY_TERRY_STATS, DPO_STATS, MIB_STATS, PPO_POLICY_STATS, PPO_REWARD_STATS, PPO_VALUE_STATS, RLMEC_STATS, checkEstimator, checkNumber, expectSize, rowsOf,
  type BradleyTerryOptions, type DPOOptions, type GAEOptions, type GAEPlan, type MIBLossInputs, type MIBLossOptions, type MIBLossOutputs, type MIBLossPlan,
  type PPOPolicyLossOptions, type PPORewardOptions, type PPORewardPlan, type PPOValueLossOptions, type ReparameterizeBackwardOptions, type RLMECLossOptions, type WhitenOptions,
} from './loss_ops.js';
import { checkVocab, logprobScale, philoxPlan, samplePlan, type LogprobOptions, type PhiloxPlan, type RandomOptions, type SampleOptions, type SamplePlan } from './sampling_ops.js';

export type BackendKind = 'webgpu' | 'wasm';
export type ReduceOp = 'sum' | 'max' | 'sumsq';

/**
 * A float32 tensor that lives on one backend's device (a GPU buffer or WASM linear memory).
 * Its values are reached only through `backend.read()`, which is explicit and asynchronous.
 */
export abstract class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  readonly backend: Backend;
  /** For a view: the tensor whose storage it shares. Disposing a view frees nothing. */
  readonly base: Tensor | undefined;
  #disposed = false;

  protected constructor(backend: Backend, shape: Shape, base?: Tensor) {
    this.backend = backend;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this.base = base;
  }

  get disposed(): boolean {
    return this.#disposed || (this.base?.disposed ?? false);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.base) return;
    this.release();
    this.backend.memoryTracker.free(this.size * 4);
  }

  /** Gives the tensor's storage back to its backend. */
  protected abstract release(): void;

  toString(): string {
    return `Tensor(${fmt(this.shape)}, ${this.backend.kind})`;
  }
}

/** Counts tensor bytes as they are allocated and disposed. */
export class MemoryTracker {
  bytes = 0;
  peak = 0;
  allocate(n: number): void {
    this.bytes += n;
    this.peak = Math.max(this.peak, this.bytes);
  }
  free(n: number): void {
    this.bytes -= n;
  }
  /** Starts a new high-water mark from what is held now. */
  resetPeak(): void {
    this.peak = this.bytes;
  }
}

export interface MatmulOptions {
  /** Use Aᵀ: A is stored [..., K, M]. */
  transA?: boolean;
  /** Use Bᵀ: B is stored [N, K] (or [..., N, K]). */
  transB?: boolean;
  /** Added to every row of the product; shape [N]. */
  bias?: Tensor;
  /** Scales the product (not the bias). Default 1. */
  alpha?: number;
  /** Write into this tensor instead of a new one; its shape must be the product's. */
  out?: Tensor;
  /** With `out`: add the result to out's current values (gradient accumulation). */
  accumulate?: boolean;
}

export interface ReduceOptions {
  /** 'all' (default) reduces to one value of shape [1]; -1 reduces the last axis. */
  axis?: 'all' | -1;
  out?: Tensor;
}

/** What a backend tells about itself; `webrlhf info` prints it. */
export interface BackendInfo {
  kind: BackendKind;
  /** Adapter description for WebGPU, "WebAssembly SIMD" for WASM. */
  device: string;
  /** True on a software rasteriser (llvmpipe, lavapipe, SwiftShader, WARP). */
  software: boolean;
  details: Record<string, unknown>;
}

/**
 * The Backend contract: the one seam between the model code and the hardware.
 * This class validates every call (shapes, ownership, lifetime) once, so both
 * implementations see only well-formed work and fail the same way on bad input.
 */
export abstract class Backend {
  abstract readonly kind: BackendKind;
  abstract info(): BackendInfo;
  /** Bytes of live tensors (views not counted twice) and their high-water mark. */
  readonly memoryTracker = new MemoryTracker();

  /** Tensor bytes held now and the most held at once since the last resetPeak(). */
  memory(): { bytes: number; peakBytes: number } {
    return { bytes: this.memoryTracker.bytes, peakBytes: this.memoryTracker.peak };
  }

  /** Allocates a zero-filled tensor. */
  zeros(shape: Shape): Tensor {
    checkShape(shape);
    return this.tracked(shape);
  }

  /** Uploads host data. `data.length` must equal the shape's size. */
  tensor(data: ArrayLike<number>, shape: Shape = [data.length]): Tensor {
    checkShape(shape);
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError(`tensor: ${data.length} values do not fill shape ${fmt(shape)} (${sizeOf(shape)} values)`);
    }
    const t = this.tracked(shape);
    this.upload(t, data instanceof Float32Array ? data : Float32Array.from(data));
    return t;
  }

  /** Overwrites a tensor's values from host memory. */
  write(t: Tensor, data: ArrayLike<number>): void {
    this.own('write', t);
    if (data.length !== t.size) throw new ShapeError(`write: ${data.length} values for a tensor of shape ${fmt(t.shape)}`);
    this.upload(t, data instanceof Float32Array ? data : Float32Array.from(data));
  }

  /** Copies a tensor's values to the host once all queued work that writes it has run. */
  read(t: Tensor): Promise<Float32Array> {
    this.own('read', t);
    return this.download(t);
  }

  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    this.own('matmul', a, b, options.bias, options.out);
    const g = matmulGeometry(a.shape, b.shape, options, options.bias?.shape);
    if (options.accumulate && !options.out) throw new ShapeError('matmul: accumulate needs an out tensor to add into');
    const out = this.output('matmul', g.outShape, options.out);
    this.noAlias('matmul', [out], options.bias ? [a, b, options.bias] : [a, b]);
    this.runMatmul(a, b, out, g, options);
    return out;
  }

  /** out = a + b, elementwise; a and b have the same shape. `out` may alias an input. */
  add(a: Tensor, b: Tensor, out?: Tensor): Tensor {
    this.own('add', a, b, out);
    checkSameShape('add', a.shape, b.shape);
    const o = this.output('add', a.shape, out);
    // In place is fine (out is a or b itself); a different view of the same storage is not.
    this.noAlias('add', [o], [a, b].filter((t) => t !== o));
    this.runAdd(a, b, o);
    return o;
  }

  /** out = s · a, elementwise. `out` may alias `a`. */
  scale(a: Tensor, s: number, out?: Tensor): Tensor {
    this.own('scale', a, out);
    const o = this.output('scale', a.shape, out);
    if (o !== a) this.noAlias('scale', [o], [a]);
    this.runScale(a, s, o);
    return o;
  }

  sum(a: Tensor, options: ReduceOptions = {}): Tensor {
    return this.reduce('sum', a, options);
  }

  max(a: Tensor, options: ReduceOptions = {}): Tensor {
    return this.reduce('max', a, options);
  }

  /** Σ a², over everything (default) or the last axis. */
  sumSquares(a: Tensor, options: ReduceOptions = {}): Tensor {
    return this.reduce('sumsq', a, options);
  }

  // ---- Sampling: counter-based random numbers (Philox4x32-10, src/random/philox.ts) ------

  /**
   * out[i] = a uniform in [0, 1) from Philox4x32-10 block (stream + i, offset, 0, 0) under
   * key (seed mod 2³², ⌊seed / 2³²⌋): word 0's top 24 bits · 2⁻²⁴ (exact in f32). The same
   * bits on every backend and on the host (`philoxUniforms`). Elements in row-major order.
   */
  randomUniform(out: Tensor, o: RandomOptions): void {
    this.own('randomUniform', out);
    this.runRandomUniform(out, philoxPlan('randomUniform', o, out.size));
  }

  /**
   * One token id per row of logits [N, V] into out [N] (as f32). Row r draws one uniform u,
   * exactly randomUniform's element r (counter (stream + r, offset, 0, 0)), so a sequence
   * keeps its draws whatever batch it is in. In exact arithmetic:
   * - temperature 0: argmax, lowest index on ties; no random number is used.
   * - else w_i = exp((x_i − max x) / temperature).
   * - topK (0 < k < V): keep the tokens whose logit is ≥ the k-th largest logit (all tied
   *   with it are kept, so more than k may be).
   * - topP (< 1), after topK: keep the kept tokens whose w is ≥ τ, τ the largest value with
   *   Σ_{kept, w ≥ τ} w ≥ topP · Σ_kept w: the fewest most probable tokens whose probability
   *   reaches topP, the one crossing it (and its ties) included; at least one token is kept.
   * - return the first kept index i (in index order) whose running Σ w exceeds u · Σ_kept w;
   *   the last kept index if rounding runs off the end.
   * Thresholds are found exactly (bisection over the logits' order-preserving bit patterns);
   * sums are f32 on WebGPU and f64 on WASM. Logits must be finite.
   */
  sampleTokens(logits: Tensor, out: Tensor, o: SampleOptions): void {
    this.own('sampleTokens', logits, out);
    const [N, V] = this.rows('sampleTokens', 'logits', logits);
    expect('sampleTokens', 'out', out, [N]);
    const plan = samplePlan(o, N, V);
    this.noAlias('sampleTokens', [out], [logits]);
    this.runSampleTokens(logits, out, N, V, plan);
  }

  /**
   * Per row n of logits [N, V], for the distribution p = softmax(scale · logits[n]):
   * logprobs[n] = log p[targets[n]] and entropies[n] = −Σ p log p (max-subtracted,
   * log-sum-exp; stable for any finite logits). targets [N] are ids as f32; a target that is
   * not an integer in 0..V-1 gives a NaN logprob (callers check ids on the host). scale
   * (1/temperature) defaults to 1.
   */
  tokenLogprobs(logits: Tensor, targets: Tensor, logprobs: Tensor, entropies: Tensor, o: LogprobOptions = {}): void {
    this.own('tokenLogprobs', logits, targets, logprobs, entropies);
    const [N, V] = this.rows('tokenLogprobs', 'logits', logits);
    checkVocab('tokenLogprobs', V);
    for (const [name, t] of [['targets', targets], ['logprobs', logprobs], ['entropies', entropies]] as const) expect('tokenLogprobs', name, t, [N]);
    const scale = logprobScale(o);
    this.noAlias('tokenLogprobs', [logprobs, entropies], [logits, targets]);
    if (logprobs === entropies) throw new ShapeError('tokenLogprobs: logprobs and entropies are the same tensor; give each its own');
    this.runTokenLogprobs(logits, targets, logprobs, entropies, N, V, scale);
  }

  protected abstract runRandomUniform(out: Tensor, c: PhiloxPlan): void;
  protected abstract runSampleTokens(logits: Tensor, out: Tensor, N: number, V: number, plan: SamplePlan): void;
  protected abstract runTokenLogprobs(logits: Tensor, targets: Tensor, logprobs: Tensor, entropies: Tensor, N: number, V: number, scale: number): void;

  // ---- Reward losses (kernels/losses/, wasm/losses/; ALGORITHMS.md §2, §3, §6) -----------
  // Each is one dispatch over per-token or per-row values of a batch (small next to the
  // model), computed in f32 on WebGPU and f64 on WASM. Token tensors hold R rows of T tokens.

  /**
   * PPO's per-token rewards. For row r (R = scores.size rows) and its response tokens
   * (mask 1), with Δ = logprobs − refLogprobs: kl = k1 Δ | k3 (e^−Δ − 1) + Δ | clamped
   * max(Δ, 0); rewards = −klCoef·kl, plus scores[r] at the row's last response token (an
   * explicit position, never one past it). kl and rewards are 0 off the mask. stats [4]
   * (PPO_REWARD_STATS), means over rows of per-row sums: kl, entropy (−logprobs),
   * non-score reward (−klCoef·kl), and the mean score.
   */
  ppoRewards(
    i: { logprobs: Tensor; refLogprobs: Tensor; mask: Tensor; scores: Tensor },
    out: { rewards: Tensor; kl: Tensor; stats: Tensor },
    o: PPORewardOptions,
  ): void {
    const op = 'ppoRewards';
    this.own(op, i.logprobs, i.refLogprobs, i.mask, i.scores, out.rewards, out.kl, out.stats);
    const R = i.scores.size;
    const T = rowsOf(op, i.logprobs, R);
    for (const [name, t] of [['refLogprobs', i.refLogprobs], ['mask', i.mask], ['rewards', out.rewards], ['kl', out.kl]] as const) expectSize(op, name, t, R * T);
    expectSize(op, 'stats', out.stats, PPO_REWARD_STATS.length);
    const plan = { R, T, klCoef: checkNumber(op, 'klCoef', o.klCoef, 0), estimator: checkEstimator(op, o.klEstimator) };
    this.distinctOutputs(op, [out.rewards, out.kl, out.stats], [i.logprobs, i.refLogprobs, i.mask, i.scores]);
    this.runPPORewards(i.logprobs, i.refLogprobs, i.mask, i.scores, out.rewards, out.kl, out.stats, plan);
  }

  /**
   * out = (x − μ)·(σ² + 1e-8)^−½ (+ μ unless shiftMean) on the mask, 0 off it; μ and the
   * unbiased σ² (Bessel's n − 1, n ≥ 2; σ² = 0 for a single token) run over masked entries.
   */
  maskedWhiten(x: Tensor, mask: Tensor, out: Tensor, o: WhitenOptions): void {
    this.own('maskedWhiten', x, mask, out);
    expectSize('maskedWhiten', 'mask', mask, x.size);
    expectSize('maskedWhiten', 'out', out, x.size);
    this.distinctOutputs('maskedWhiten', [out], [x, mask]);
    this.runMaskedWhiten(x, mask, out, x.size, !!o.shiftMean);
  }

  /**
   * Generalised advantage estimation along each of `rows` rows, over its response tokens
   * (mask 1, contiguous): δ_t = r_t + γV_{t+1} − V_t with V after the last token 0,
   * A_t = δ_t + γλA_{t+1}, returns R_t = A_t + V_t. 0 off the mask.
   */
  gae(rewards: Tensor, values: Tensor, mask: Tensor, advantages: Tensor, returns: Tensor, o: GAEOptions & { rows: number }): void {
    const op = 'gae';
    this.own(op, rewards, values, mask, advantages, returns);
    const T = rowsOf(op, rewards, o.rows);
    for (const [name, t] of [['values', values], ['mask', mask], ['advantages', advantages], ['returns', returns]] as const) expectSize(op, name, t, rewards.size);
    const plan = { R: o.rows, T, gamma: checkNumber(op, 'gamma', o.gamma, 0, 1), lam: checkNumber(op, 'lam', o.lam, 0, 1) };
    this.distinctOutputs(op, [advantages, returns], [rewards, values, mask]);
    this.runGAE(rewards, values, mask, advantages, returns, plan);
  }

  /**
   * PPO's clipped policy loss over the masked tokens, ρ = exp(logprobs − oldLogprobs):
   * L_pg = masked_mean(max(−Aρ, −A·clip(ρ, 1 − ε, 1 + ε))). dLogprobs = ∂L_pg/∂logprobs
   * (−Aρ/n where the unclipped term is the max, else 0). stats [5] (PPO_POLICY_STATS), masked
   * means: L_pg, clip fraction (clipped term strictly larger), ½Δ², ρ, and `entropies`.
   */
  ppoPolicyLoss(
    i: { logprobs: Tensor; oldLogprobs: Tensor; advantages: Tensor; mask: Tensor; entropies: Tensor },
    out: { dLogprobs: Tensor; stats: Tensor },
    o: PPOPolicyLossOptions,
  ): void {
    const op = 'ppoPolicyLoss';
    const ins = [i.logprobs, i.oldLogprobs, i.advantages, i.mask, i.entropies];
    this.own(op, ...ins, out.dLogprobs, out.stats);
    const N = i.logprobs.size;
    for (const [name, t] of [['oldLogprobs', i.oldLogprobs], ['advantages', i.advantages], ['mask', i.mask], ['entropies', i.entropies], ['dLogprobs', out.dLogprobs]] as const) expectSize(op, name, t, N);
    expectSize(op, 'stats', out.stats, PPO_POLICY_STATS.length);
    const cliprange = checkNumber(op, 'cliprange', o.cliprange, 0);
    this.distinctOutputs(op, [out.dLogprobs, out.stats], ins);
    this.runPPOPolicyLoss(i.logprobs, i.oldLogprobs, i.advantages, i.mask, i.entropies, out.dLogprobs, out.stats, N, cliprange);
  }

  /**
   * PPO's clipped value loss over the masked tokens: L_vf = ½ masked_mean(max((V − R)²,
   * (clip(V, V_old ± ε_v) − R)²)). dValues = vfCoef·∂L_vf/∂V ((V − R)/n where the unclipped
   * term is the max, else 0). stats [2] (PPO_VALUE_STATS): L_vf and the clip fraction.
   */
  ppoValueLoss(
    i: { values: Tensor; oldValues: Tensor; returns: Tensor; mask: Tensor },
    out: { dValues: Tensor; stats: Tensor },
    o: PPOValueLossOptions,
  ): void {
    const op = 'ppoValueLoss';
    const ins = [i.values, i.oldValues, i.returns, i.mask];
    this.own(op, ...ins, out.dValues, out.stats);
    const N = i.values.size;
    for (const [name, t] of [['oldValues', i.oldValues], ['returns', i.returns], ['mask', i.mask], ['dValues', out.dValues]] as const) expectSize(op, name, t, N);
    expectSize(op, 'stats', out.stats, PPO_VALUE_STATS.length);
    const cliprangeValue = checkNumber(op, 'cliprangeValue', o.cliprangeValue, 0);
    const vfCoef = checkNumber(op, 'vfCoef', o.vfCoef, 0);
    this.distinctOutputs(op, [out.dValues, out.stats], ins);
    this.runPPOValueLoss(i.values, i.oldValues, i.returns, i.mask, out.dValues, out.stats, N, cliprangeValue, vfCoef);
  }

  /**
   * The Bradley–Terry loss of 2P scores, rows 0..P−1 chosen (r_w) and P..2P−1 rejected (r_l):
   * L = −mean log σ(r_w − r_l) + centerCoefficient·mean((r_w + r_l)²). dScores = ∂L/∂scores.
   * stats [4] (BRADLEY_TERRY_STATS): L, accuracy (r_w > r_l), mean margin, mean reward.
   */
  bradleyTerryLoss(scores: Tensor, dScores: Tensor, stats: Tensor, o: BradleyTerryOptions = {}): void {
    const op = 'bradleyTerryLoss';
    this.own(op, scores, dScores, stats);
    if (scores.size % 2 !== 0 || scores.size === 0) throw new ShapeError(`${op}: scores has ${scores.size} values; give 2P: P chosen, then P rejected`);
    expectSize(op, 'dScores', dScores, scores.size);
    expectSize(op, 'stats', stats, BRADLEY_TERRY_STATS.length);
    const center = checkNumber(op, 'centerCoefficient', o.centerCoefficient ?? 0, 0);
    this.distinctOutputs(op, [dScores, stats], [scores]);
    this.runBradleyTerryLoss(scores, dScores, stats, scores.size / 2, center);
  }

  /**
   * DPO's sigmoid loss over 2P rows of tokens, rows 0..P−1 chosen and P..2P−1 rejected,
   * with sequence log-probs s = Σ_mask logprobs (s_ref from refLogprobs):
   * h = (s_w − s_ref,w) − (s_l − s_ref,l), L = −mean log σ(β·h). dLogprobs = ∂L/∂logprobs
   * (each masked token of a row gets its row's gradient). stats [7] (DPO_STATS, TRL's names):
   * L, rewards β(s − s_ref) of chosen and rejected, accuracy, margin, and mean s of each.
   */
  dpoLoss(i: { logprobs: Tensor; refLogprobs: Tensor; mask: Tensor }, out: { dLogprobs: Tensor; stats: Tensor }, o: DPOOptions & { rows: number }): void {
    const op = 'dpoLoss';
    this.own(op, i.logprobs, i.refLogprobs, i.mask, out.dLogprobs, out.stats);
    if (!Number.isInteger(o.rows) || o.rows < 2 || o.rows % 2 !== 0) throw new ShapeError(`${op}: rows is ${o.rows}; give 2P rows: P chosen, then P rejected`);
    const T = rowsOf(op, i.logprobs, o.rows);
    for (const [name, t] of [['refLogprobs', i.refLogprobs], ['mask', i.mask], ['dLogprobs', out.dLogprobs]] as const) expectSize(op, name, t, i.logprobs.size);
    expectSize(op, 'stats', out.stats, DPO_STATS.length);
    const beta = checkNumber(op, 'beta', o.beta, 0);
    this.distinctOutputs(op, [out.dLogprobs, out.stats], [i.logprobs, i.refLogprobs, i.mask]);
    this.runDPOLoss(i.logprobs, i.refLogprobs, i.mask, out.dLogprobs, out.stats, o.rows / 2, T, beta);
  }

  /**
   * RLMEC's objective (ALGORITHMS.md §5) over tokens of the samples y (rewards r ≠ 0) and of
   * the rewrites ŷ (imitation weights c ≠ 0), which may share a batch: with ρ = exp(logprobs −
   * refLogprobs) held constant, w = min(ρr, clip(ρ, 1 − ε, 1 + ε)·r),
   * L = −Σ w·logprobs / N + λ·Σ c·(−logprobs) / N_c (N, N_c: tokens with r ≠ 0, c ≠ 0).
   * dLogprobs = ∂L/∂logprobs = −w/N − λc/N_c. stats [5] (RLMEC_STATS): L, L_RL, L_reg, mean ρ
   * and the fraction clipped, over the reward tokens.
   */
  rlmecLoss(
    i: { logprobs: Tensor; refLogprobs: Tensor; rewards: Tensor; imitation: Tensor },
    out: { dLogprobs: Tensor; stats: Tensor },
    o: RLMECLossOptions,
  ): void {
    const op = 'rlmecLoss';
    const ins = [i.logprobs, i.refLogprobs, i.rewards, i.imitation];
    this.own(op, ...ins, out.dLogprobs, out.stats);
    const N = i.logprobs.size;
    for (const [name, t] of [['refLogprobs', i.refLogprobs], ['rewards', i.rewards], ['imitation', i.imitation], ['dLogprobs', out.dLogprobs]] as const) expectSize(op, name, t, N);
    expectSize(op, 'stats', out.stats, RLMEC_STATS.length);
    const cliprange = checkNumber(op, 'cliprange', o.cliprange, 0);
    const lambda = checkNumber(op, 'imitationWeight', o.imitationWeight, 0);
    this.distinctOutputs(op, [out.dLogprobs, out.stats], ins);
    this.runRLMECLoss(i.logprobs, i.refLogprobs, i.rewards, i.imitation, out.dLogprobs, out.stats, N, cliprange, lambda);
  }

  // ---- RLP-UML's multi-view information bottleneck (ALGORITHMS.md §4) ------------------

  /**
   * z = mu + σ·eps with σ = softplus(rawSigma) + MIB_SIGMA_FLOOR (softplus computed without
   * overflow), elementwise; every tensor has mu's shape. eps are standard normals the caller
   * draws (philoxNormals).
   */
  gaussianReparameterize(mu: Tensor, rawSigma: Tensor, eps: Tensor, out: { z: Tensor; sigma: Tensor }): void {
    const op = 'gaussianReparameterize';
    const ins = [mu, rawSigma, eps];
    this.own(op, ...ins, out.z, out.sigma);
    for (const [name, t] of [['rawSigma', rawSigma], ['eps', eps], ['z', out.z], ['sigma', out.sigma]] as const) expect(op, name, t, mu.shape);
    this.distinctOutputs(op, [out.z, out.sigma], ins);
    this.runGaussianReparameterize(mu, rawSigma, eps, out.z, out.sigma, mu.size);
  }

  /**
   * The backward of gaussianReparameterize given ∂L/∂z and a direct ∂L/∂σ (a loss that reads
   * σ itself): dMu = dZ, dRawSigma = (dSigma + dZ·eps)·sigmoid(rawSigma). With `accumulate`
   * both are added into (so dMu may already hold a loss's direct ∂L/∂μ), else overwritten.
   */
  gaussianReparameterizeBackward(
    dZ: Tensor, dSigma: Tensor, eps: Tensor, rawSigma: Tensor, out: { dMu: Tensor; dRawSigma: Tensor }, o: ReparameterizeBackwardOptions = {},
  ): void {
    const op = 'gaussianReparameterizeBackward';
    const ins = [dZ, dSigma, eps, rawSigma];
    this.own(op, ...ins, out.dMu, out.dRawSigma);
    for (const [name, t] of [['dSigma', dSigma], ['eps', eps], ['rawSigma', rawSigma], ['dMu', out.dMu], ['dRawSigma', out.dRawSigma]] as const) expect(op, name, t, dZ.shape);
    this.distinctOutputs(op, [out.dMu, out.dRawSigma], ins);
    this.runGaussianReparameterizeBackward(dZ, dSigma, eps, rawSigma, out.dMu, out.dRawSigma, dZ.size, !!o.accumulate);
  }

  /**
   * RLP-UML's loss over B view pairs with K latent dimensions (mu·, sigma·, z· [B, K]; the
   * critic's tPos_i = T(z1_i, z2_i) and tNeg_i = T(z1_{i−1 mod B}, z2_i), B values each):
   * L_M = −I_JSD + β·D_SKL with I_JSD = mean(−softplus(−tPos)) − mean(softplus(tNeg)) and
   * D_SKL = ½·mean_i[(log p1(z1_i) − log p2(z1_i)) + (log p2(z2_i) − log p1(z2_i))], p_j the
   * factorised Gaussian N(mu_j, diag sigma_j²). Writes every partial derivative of
   * weight·L_M, the z and t treated as inputs (the caller chains through the critic and the
   * reparameterisation). stats [3] (MIB_STATS): L_M, I_JSD, D_SKL. B ≥ 2.
   */
  mibLoss(i: MIBLossInputs, out: MIBLossOutputs, o: MIBLossOptions): void {
    const op = 'mibLoss';
    const ins = [i.mu1, i.sigma1, i.z1, i.mu2, i.sigma2, i.z2, i.tPos, i.tNeg];
    const outs = [out.dMu1, out.dSigma1, out.dZ1, out.dMu2, out.dSigma2, out.dZ2, out.dTPos, out.dTNeg, out.stats];
    this.own(op, ...ins, ...outs);
    const [B, K] = this.rows(op, 'mu1', i.mu1);
    if (B < 2) {
      throw new ShapeError(`${op}: mu1 has ${B} row${B === 1 ? '' : 's'}; the negatives pair z1 of one row with z2 of another, so give at least 2 view pairs (B ≥ 2)`);
    }
    const latent = [['sigma1', i.sigma1], ['z1', i.z1], ['mu2', i.mu2], ['sigma2', i.sigma2], ['z2', i.z2],
      ['dMu1', out.dMu1], ['dSigma1', out.dSigma1], ['dZ1', out.dZ1], ['dMu2', out.dMu2], ['dSigma2', out.dSigma2], ['dZ2', out.dZ2]] as const;
    for (const [name, t] of latent) expect(op, name, t, [B, K]);
    for (const [name, t] of [['tPos', i.tPos], ['tNeg', i.tNeg], ['dTPos', out.dTPos], ['dTNeg', out.dTNeg]] as const) expectSize(op, name, t, B);
    expectSize(op, 'stats', out.stats, MIB_STATS.length);
    const plan: MIBLossPlan = { B, K, beta: checkNumber(op, 'beta', o.beta, 0), weight: checkNumber(op, 'weight', o.weight ?? 1, 0) };
    this.distinctOutputs(op, outs, ins);
    this.runMIBLoss(i, out, plan);
  }

  /** Outputs must not share storage with inputs or with each other. */
  private distinctOutputs(op: string, outs: Tensor[], ins: Tensor[]): void {
    this.noAlias(op, outs, ins);
    for (let a = 0; a < outs.length; a++) for (let b = a + 1; b < outs.length; b++) this.noAlias(op, [outs[a]!], [outs[b]!]);
  }

  protected abstract runPPORewards(logprobs: Tensor, refLogprobs: Tensor, mask: Tensor, scores: Tensor, rewards: Tensor, kl: Tensor, stats: Tensor, p: PPORewardPlan): void;
  protected abstract runMaskedWhiten(x: Tensor, mask: Tensor, out: Tensor, N: number, shiftMean: boolean): void;
  protected abstract runGAE(rewards: Tensor, values: Tensor, mask: Tensor, advantages: Tensor, returns: Tensor, p: GAEPlan): void;
  protected abstract runPPOPolicyLoss(logprobs: Tensor, oldLogprobs: Tensor, advantages: Tensor, mask: Tensor, entropies: Tensor, dLogprobs: Tensor, stats: Tensor, N: number, cliprange: number): void;
  protected abstract runPPOValueLoss(values: Tensor, oldValues: Tensor, returns: Tensor, mask: Tensor, dValues: Tensor, stats: Tensor, N: number, cliprangeValue: number, vfCoef: number): void;
  protected abstract runBradleyTerryLoss(scores: Tensor, dScores: Tensor, stats: Tensor, P: number, center: number): void;
  protected abstract runRLMECLoss(logprobs: Tensor, refLogprobs: Tensor, rewards: Tensor, imitation: Tensor, dLogprobs: Tensor, stats: Tensor, N: number, cliprange: number, imitationWeight: number): void;
  protected abstract runDPOLoss(logprobs: Tensor, refLogprobs: Tensor, mask: Tensor, dLogprobs: Tensor, stats: Tensor, P: number, T: number, beta: number): void;
  protected abstract runGaussianReparameterize(mu: Tensor, rawSigma: Tensor, eps: Tensor, z: Tensor, sigma: Tensor, n: number): void;
  protected abstract runGaussianReparameterizeBackward(dZ: Tensor, dSigma: Tensor, eps: Tensor, rawSigma: Tensor, dMu: Tensor, dRawSigma: Tensor, n: number, accumulate: boolean): void;
  protected abstract runMIBLoss(i: MIBLossInputs, out: MIBLossOutputs, plan: MIBLossPlan): void;

  // ---- Storage -------------------------------------------------------------------------

  /**
   * A tensor of `shape` over t's elements [offset, offset + size): it shares t's storage
   * (writes through either are seen by both) and lives as long as t. `offset` must be a
   * multiple of VIEW_ALIGN (64) elements.
   */
  view(t: Tensor, offset: number, shape: Shape): Tensor {
    this.own('view', t);
    checkShape(shape);
    if (!Number.isInteger(offset) || offset < 0 || offset % VIEW_ALIGN !== 0) {
      throw new ShapeError(`view: offset ${offset} must be a non-negative multiple of ${VIEW_ALIGN} elements`);
    }
    if (offset + sizeOf(shape) > t.size) {
      throw new ShapeError(`view: elements ${offset}..${offset + sizeOf(shape)} of shape ${fmt(shape)} lie outside ${t} (${t.size} elements)`);
    }
    const root = t.base ?? t;
    return this.makeView(root, this.viewOffset(t) + offset, shape);
  }

  /** Sets every element to 0. */
  zero(t: Tensor): void {
    this.own('zero', t);
    this.runZero(t);
  }

  /** dst ← src; same size (shapes may differ); they must not share storage. */
  copy(src: Tensor, dst: Tensor): void {
    this.own('copy', src, dst);
    if (src.size !== dst.size) throw new ShapeError(`copy: ${src} has ${src.size} elements, ${dst} has ${dst.size}`);
    this.noAlias('copy', [dst], [src]);
    this.runCopy(src, dst);
  }

  // ---- Transformer layer ops (llm.c style: each forward has an explicit backward) -------

  /** out[n] = wte[ids[n]] + wpe[pos[n]]. ids [N], pos [N], wte [V, C], wpe [P, C], out [N, C]. */
  embedding(ids: Tensor, pos: Tensor, wte: Tensor, wpe: Tensor, out: Tensor): void {
    this.own('embedding', ids, pos, wte, wpe, out);
    const [N, C] = this.rows('embedding', 'out', out);
    expect('embedding', 'ids', ids, [N]);
    expect('embedding', 'pos', pos, [N]);
    if (wte.shape.length !== 2 || wte.shape[1] !== C) throw new ShapeError(`embedding: wte has shape ${fmt(wte.shape)}, expected [V, ${C}]`);
    if (wpe.shape.length !== 2 || wpe.shape[1] !== C) throw new ShapeError(`embedding: wpe has shape ${fmt(wpe.shape)}, expected [P, ${C}]`);
    this.noAlias('embedding', [out], [ids, pos, wte, wpe]);
    this.runEmbedding(ids, pos, wte, wpe, out, N, C, wte.shape[0]!, wpe.shape[0]!);
  }

  /** out[n] = table[index[n]]. table [V, C], index [N], out [N, C]. */
  gatherRows(table: Tensor, index: Tensor, out: Tensor): void {
    this.own('gatherRows', table, index, out);
    const [N, C] = this.rows('gatherRows', 'out', out);
    expect('gatherRows', 'index', index, [N]);
    if (table.shape.length !== 2 || table.shape[1] !== C) throw new ShapeError(`gatherRows: table has shape ${fmt(table.shape)}, expected [V, ${C}]`);
    this.noAlias('gatherRows', [out], [table, index]);
    this.runGatherRows(table, index, out, N, C, table.shape[0]!);
  }

  /**
   * dst[targets[g]] += Σ src[order[i]] over group g's rows: the backward of embedding and
   * gatherRows. src [R, C], dst [V, C].
   */
  scatterAddRows(src: Tensor, index: RowIndex, dst: Tensor): void {
    this.own('scatterAddRows', src, index.order, index.starts, index.targets, dst);
    const [R, C] = this.rows('scatterAddRows', 'src', src);
    if (dst.shape.length !== 2 || dst.shape[1] !== C) throw new ShapeError(`scatterAddRows: dst has shape ${fmt(dst.shape)}, expected [V, ${C}]`);
    expect('scatterAddRows', 'index.order', index.order, [R]);
    expect('scatterAddRows', 'index.starts', index.starts, [index.groups + 1]);
    expect('scatterAddRows', 'index.targets', index.targets, [index.groups]);
    this.noAlias('scatterAddRows', [dst], [src, index.order, index.starts, index.targets]);
    this.runScatterAddRows(src, index, dst, C, dst.shape[0]!);
  }

  /**
   * out = (x − mean) · rstd · weight + bias over the last axis, saving mean and rstd
   * (1/√(var + eps), biased variance) for the backward. x, out [N, C]; mean, rstd [N].
   */
  layerNorm(x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, mean: Tensor, rstd: Tensor, eps: number): void {
    this.own('layerNorm', x, weight, bias, out, mean, rstd);
    const [N, C] = this.rows('layerNorm', 'x', x);
    expect('layerNorm', 'out', out, [N, C]);
    expect('layerNorm', 'weight', weight, [C]);
    expect('layerNorm', 'bias', bias, [C]);
    expect('layerNorm', 'mean', mean, [N]);
    expect('layerNorm', 'rstd', rstd, [N]);
    if (!(eps > 0)) throw new ShapeError(`layerNorm: eps must be positive, got ${eps}`);
    this.noAlias('layerNorm', [out, mean, rstd], [x, weight, bias]);
    this.runLayerNorm(x, weight, bias, out, mean, rstd, N, C, eps);
  }

  /** Adds the gradients of layerNorm into dx [N, C], dweight [C] and dbias [C]. */
  layerNormBackward(dout: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor, dx: Tensor, dweight: Tensor, dbias: Tensor): void {
    this.own('layerNormBackward', dout, x, weight, mean, rstd, dx, dweight, dbias);
    const [N, C] = this.rows('layerNormBackward', 'x', x);
    for (const [name, t, shape] of [['dout', dout, [N, C]], ['dx', dx, [N, C]], ['weight', weight, [C]], ['dweight', dweight, [C]],
      ['dbias', dbias, [C]], ['mean', mean, [N]], ['rstd', rstd, [N]]] as const) expect('layerNormBackward', name, t, shape);
    this.noAlias('layerNormBackward', [dx, dweight, dbias], [dout, x, weight, mean, rstd]);
    this.runLayerNormBackward(dout, x, weight, mean, rstd, dx, dweight, dbias, N, C);
  }

  /** out = GELU(x), tanh approximation (GPT-2's). Same shapes; out may not alias x. */
  gelu(x: Tensor, out: Tensor): void {
    this.own('gelu', x, out);
    checkSameShape('gelu', x.shape, out.shape);
    this.noAlias('gelu', [out], [x]);
    this.runGelu(x, out, x.size);
  }

  /** dx = dout · GELU′(x) (overwrites dx). */
  geluBackward(dout: Tensor, x: Tensor, dx: Tensor): void {
    this.own('geluBackward', dout, x, dx);
    checkSameShape('geluBackward', dout.shape, x.shape);
    checkSameShape('geluBackward', dx.shape, x.shape);
    this.noAlias('geluBackward', [dx], [dout, x]);
    this.runGeluBackward(dout, x, dx, x.size);
  }

  /** out[c] += Σₙ x[n, c]: the gradient of a bias. x [N, C] (or [..., C]), out [C]. */
  columnSum(x: Tensor, out: Tensor): void {
    this.own('columnSum', x, out);
    const { rows, cols } = lastAxisGeometry(x.shape);
    expect('columnSum', 'out', out, [cols]);
    this.noAlias('columnSum', [out], [x]);
    this.runColumnSum(x, out, rows, cols);
  }

  /**
   * dst[b, h, t, d] = src[b, t, col + h·D + d]: one [B, T, H·D] block of src split into heads.
   * With `time`, dst is [B, H, S, D] and src's T rows land at time..time+T (appending to a
   * KV cache); dst's other rows are kept.
   */
  gatherHeads(src: Tensor, col: number, dst: Tensor, time?: number): void {
    this.own('gatherHeads', src, dst);
    const g = headsGeometry('gatherHeads', src, dst, col, time);
    this.noAlias('gatherHeads', [dst], [src]);
    this.runGatherHeads(src, dst, g);
  }

  /** dst[b, t, col + h·D + d] = src[b, h, t, d]; dst's other columns are left as they are. */
  scatterHeads(src: Tensor, dst: Tensor, col: number): void {
    this.own('scatterHeads', src, dst);
    const g = headsGeometry('scatterHeads', dst, src, col);
    this.noAlias('scatterHeads', [dst], [src]);
    this.runScatterHeads(src, dst, g);
  }

  /**
   * Row softmax of attention scores [B, H, T, T] (query × key) where query i sees key j only
   * if j ≤ i and keyMask[b, j] = 1 (keyMask [B, T]: 1 real token, 0 padding). Hidden keys get
   * probability 0; a query that sees no key gets a row of zeros.
   */
  causalSoftmax(scores: Tensor, keyMask: Tensor, probs: Tensor): void {
    this.own('causalSoftmax', scores, keyMask, probs);
    const [B, H, T] = this.attentionShape('causalSoftmax', scores);
    expect('causalSoftmax', 'keyMask', keyMask, [B, T]);
    expect('causalSoftmax', 'probs', probs, scores.shape);
    this.noAlias('causalSoftmax', [probs], [scores, keyMask]);
    this.runCausalSoftmax(scores, keyMask, probs, B, H, T);
  }

  /**
   * Attention of T new queries against a key/value cache (incremental decoding):
   * out[b, i, h·D + d] = Σⱼ pⱼ·v[b, h, j, d], p = softmax over the keys j ≤ start + i with
   * keyMask[b, j] = 1 of q·k[b, h, j]/√D, q = qkv[b, i, h·D : (h+1)·D]. qkv is [B, T, W ≥ C]
   * (c_attn's output; only its q columns are read), kCache and vCache [B, H, S, D] hold keys
   * 0..start+T−1 (write them with gatherHeads(…, time) first), keyMask [B, S], out [B, T, C].
   * A query that sees no key gets zeros.
   */
  cachedAttention(qkv: Tensor, kCache: Tensor, vCache: Tensor, keyMask: Tensor, start: number, out: Tensor): void {
    this.own('cachedAttention', qkv, kCache, vCache, keyMask, out);
    if (kCache.shape.length !== 4) throw new ShapeError(`cachedAttention: kCache has shape ${fmt(kCache.shape)}, expected [B, H, S, D]`);
    const [B, H, S, D] = kCache.shape as [number, number, number, number];
    if (qkv.shape.length !== 3 || qkv.shape[0] !== B || qkv.shape[2]! < H * D) {
      throw new ShapeError(`cachedAttention: qkv has shape ${fmt(qkv.shape)}, expected [${B}, T, W ≥ ${H * D}]`);
    }
    const T = qkv.shape[1]!;
    expect('cachedAttention', 'vCache', vCache, kCache.shape);
    expect('cachedAttention', 'keyMask', keyMask, [B, S]);
    expect('cachedAttention', 'out', out, [B, T, H * D]);
    if (D > MAX_CACHED_HEAD_DIM) {
      throw new ShapeError(`cachedAttention: heads of ${D} dimensions exceed the kernels' ${MAX_CACHED_HEAD_DIM}; use more heads (n_head ≥ n_embd / ${MAX_CACHED_HEAD_DIM})`);
    }
    if (!Number.isInteger(start) || start < 0 || start + T > S) {
      throw new ShapeError(`cachedAttention: queries at ${start}..${start + T} do not fit a cache of ${S} positions`);
    }
    this.noAlias('cachedAttention', [out], [qkv, kCache, vCache, keyMask]);
    this.runCachedAttention(qkv, kCache, vCache, keyMask, out, { B, T, H, D, S, W: qkv.shape[2]!, start });
  }

  /** dscores = probs ⊙ (dprobs − Σⱼ probs·dprobs) per row (overwrites dscores). */
  causalSoftmaxBackward(dprobs: Tensor, probs: Tensor, dscores: Tensor): void {
    this.own('causalSoftmaxBackward', dprobs, probs, dscores);
    const [B, H, T] = this.attentionShape('causalSoftmaxBackward', probs);
    expect('causalSoftmaxBackward', 'dprobs', dprobs, probs.shape);
    expect('causalSoftmaxBackward', 'dscores', dscores, probs.shape);
    this.noAlias('causalSoftmaxBackward', [dscores], [dprobs, probs]);
    this.runCausalSoftmaxBackward(dprobs, probs, dscores, B, H, T);
  }

  /**
   * Fused softmax + cross-entropy over logits [N, V], with z = scale·logits[n] (scale is
   * 1/temperature; default 1): losses[n] = weights[n]·(logsumexp(z) − z[targets[n]]), and,
   * when given, dlogits[n] = weights[n]·scale·(softmax(z) − onehot(targets[n])), the gradient
   * of Σ losses with respect to the logits. A row whose weight is 0 (padding, prompt, target −1)
   * gives loss 0 and a zero gradient; its target is not read. A negative weight makes the loss
   * a log-likelihood to raise: the policy-gradient losses feed −∂L/∂log p here.
   */
  softmaxCrossEntropy(logits: Tensor, targets: Tensor, weights: Tensor, losses: Tensor, dlogits?: Tensor, o: LogprobOptions = {}): void {
    this.own('softmaxCrossEntropy', logits, targets, weights, losses, dlogits);
    const [N, V] = this.rows('softmaxCrossEntropy', 'logits', logits);
    expect('softmaxCrossEntropy', 'targets', targets, [N]);
    expect('softmaxCrossEntropy', 'weights', weights, [N]);
    expect('softmaxCrossEntropy', 'losses', losses, [N]);
    if (dlogits) expect('softmaxCrossEntropy', 'dlogits', dlogits, [N, V]);
    const scale = logprobScale(o, 'softmaxCrossEntropy');
    this.noAlias('softmaxCrossEntropy', dlogits ? [losses, dlogits] : [losses], [logits, targets, weights]);
    this.runSoftmaxCrossEntropy(logits, targets, weights, losses, dlogits, N, V, scale);
  }

  /** One AdamW step on param in place, with its gradient and moments m, v (same shapes). */
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: AdamWStep): void {
    this.own('adamw', param, grad, m, v, step.gradSumSquares);
    for (const [name, t] of [['grad', grad], ['m', m], ['v', v]] as const) expect('adamw', name, t, param.shape);
    if (step.gradSumSquares) expect('adamw', 'gradSumSquares', step.gradSumSquares, [1]);
    if (!Number.isInteger(step.step) || step.step < 1) throw new ShapeError(`adamw: step must be an integer ≥ 1, got ${step.step}`);
    this.noAlias('adamw', [param, m, v], [grad, ...(step.gradSumSquares ? [step.gradSumSquares] : [])]);
    this.runAdamW(param, grad, m, v, step);
  }

  /** Waits until all queued work has run; rethrows any deferred device error with its op. */
  abstract flush(): Promise<void>;

  /** Frees the device (and every tensor on it). The backend is unusable afterwards. */
  abstract dispose(): void;

  private reduce(op: ReduceOp, a: Tensor, options: ReduceOptions): Tensor {
    this.own(op, a, options.out);
    if (a.size === 0) throw new ShapeError(`${op}: cannot reduce an empty tensor of shape ${fmt(a.shape)}`);
    const axis = options.axis ?? 'all';
    const { rows, cols, outShape } = axis === 'all' ? { rows: 1, cols: a.size, outShape: [1] } : lastAxisGeometry(a.shape);
    if (cols === 0) throw new ShapeError(`${op}: cannot reduce an empty last axis of shape ${fmt(a.shape)}`);
    const out = this.output(op, outShape, options.out);
    this.noAlias(op, [out], [a]);
    this.runReduce(op, a, out, rows, cols);
    return out;
  }

  /** [N, C] of a 2-D operand. */
  private rows(op: string, name: string, t: Tensor): [number, number] {
    if (t.shape.length !== 2) throw new ShapeError(`${op}: ${name} has shape ${fmt(t.shape)}, expected [N, C]`);
    return [t.shape[0]!, t.shape[1]!];
  }

  private attentionShape(op: string, t: Tensor): [number, number, number] {
    if (t.shape.length !== 4 || t.shape[2] !== t.shape[3]) throw new ShapeError(`${op}: scores have shape ${fmt(t.shape)}, expected [B, H, T, T]`);
    return [t.shape[0]!, t.shape[1]!, t.shape[2]!];
  }

  /**
   * Outputs must not share storage with inputs: kernels read inputs while writing outputs,
   * and WebGPU forbids binding one buffer as read-only and writable in a dispatch.
   */
  private noAlias(op: string, outs: Tensor[], ins: Tensor[]): void {
    for (const o of outs) {
      for (const i of ins) {
        if ((o.base ?? o) === (i.base ?? i)) throw new ShapeError(`${op}: output ${o} shares storage with input ${i}; give it a separate tensor`);
      }
    }
  }

  private tracked(shape: Shape): Tensor {
    const t = this.allocate(shape);
    this.memoryTracker.allocate(t.size * 4);
    return t;
  }

  private output(op: string, shape: Shape, out?: Tensor): Tensor {
    if (!out) return this.tracked(shape);
    if (fmt(out.shape) !== fmt(shape)) throw new ShapeError(`${op}: out has shape ${fmt(out.shape)}, the result has shape ${fmt(shape)}`);
    return out;
  }

  private own(op: string, ...tensors: (Tensor | undefined)[]): void {
    for (const t of tensors) {
      if (!t) continue;
      if (t.backend !== this) throw new TensorStateError(`${op}: ${t} belongs to another backend; read() it and upload it with tensor()`);
      if (t.disposed) throw new TensorStateError(`${op}: ${t} was disposed`);
    }
  }

  /** Element offset of t within its root's storage (0 for a root). */
  protected abstract viewOffset(t: Tensor): number;
  protected abstract makeView(root: Tensor, offset: number, shape: Shape): Tensor;
  protected abstract runZero(t: Tensor): void;
  protected abstract runCopy(src: Tensor, dst: Tensor): void;
  protected abstract runEmbedding(ids: Tensor, pos: Tensor, wte: Tensor, wpe: Tensor, out: Tensor, N: number, C: number, V: number, P: number): void;
  protected abstract runGatherRows(table: Tensor, index: Tensor, out: Tensor, N: number, C: number, V: number): void;
  protected abstract runScatterAddRows(src: Tensor, index: RowIndex, dst: Tensor, C: number, V: number): void;
  protected abstract runLayerNorm(x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, mean: Tensor, rstd: Tensor, N: number, C: number, eps: number): void;
  protected abstract runLayerNormBackward(dout: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor, dx: Tensor, dweight: Tensor, dbias: Tensor, N: number, C: number): void;
  protected abstract runGelu(x: Tensor, out: Tensor, n: number): void;
  protected abstract runGeluBackward(dout: Tensor, x: Tensor, dx: Tensor, n: number): void;
  protected abstract runColumnSum(x: Tensor, out: Tensor, rows: number, cols: number): void;
  protected abstract runGatherHeads(src: Tensor, dst: Tensor, g: HeadsGeometry): void;
  protected abstract runScatterHeads(src: Tensor, dst: Tensor, g: HeadsGeometry): void;
  protected abstract runCachedAttention(qkv: Tensor, kCache: Tensor, vCache: Tensor, keyMask: Tensor, out: Tensor, g: CachedAttentionGeometry): void;
  protected abstract runCausalSoftmax(scores: Tensor, keyMask: Tensor, probs: Tensor, B: number, H: number, T: number): void;
  protected abstract runCausalSoftmaxBackward(dprobs: Tensor, probs: Tensor, dscores: Tensor, B: number, H: number, T: number): void;
  protected abstract runSoftmaxCrossEntropy(logits: Tensor, targets: Tensor, weights: Tensor, losses: Tensor, dlogits: Tensor | undefined, N: number, V: number, scale: number): void;
  protected abstract runAdamW(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: AdamWStep): void;
  protected abstract allocate(shape: Shape): Tensor;
  protected abstract upload(t: Tensor, data: Float32Array): void;
  protected abstract download(t: Tensor): Promise<Float32Array>;
  protected abstract runMatmul(a: Tensor, b: Tensor, out: Tensor, g: MatmulGeometry, o: MatmulOptions): void;
  protected abstract runAdd(a: Tensor, b: Tensor, out: Tensor): void;
  protected abstract runScale(a: Tensor, s: number, out: Tensor): void;
  protected abstract runReduce(op: ReduceOp, a: Tensor, out: Tensor, rows: number, cols: number): void;
}
