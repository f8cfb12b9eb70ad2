import { Backend, Tensor, type BackendInfo, type MatmulOptions, type ReduceOp } from '../backend.js';
import type { AdamWStep, CachedAttentionGeometry, HeadsGeometry, RowIndex } from '../layer_ops.js';
import type { GAEPlan, MIBLossInputs, MIBLossOutputs, MIBLossPlan, PPORewardPlan } from '../loss_ops.js';
import type { PhiloxPlan, SamplePlan } from '../sampling_ops.js';
import { sizeOf, type MatmulGeometry, type Shape } from '../shapes.js';
import { Arena } from './arena.js';
import type { WasmThreadPool } from './thread_pool.js';

/** The functions wasm/index.ts exports (pointers are byte offsets). */
export interface WasmKernels {
  memory: WebAssembly.Memory;
  heap_base(): number;
  /**
   * (a, b, bias, out, M, N, K, batch, strideA, strideB, strideOut, transA, transB, alpha,
   * accumulate, scratch, scratchStride, part, parts): see wasm/matmul.ts.
   */
  matmul: (...args: number[]) => void;
  matmul_scratch_bytes(): number;
  add(a: number, b: number, out: number, n: number): void;
  scale(a: number, s: number, out: number, n: number): void;
  reduce_sum(a: number, out: number, rows: number, cols: number): void;
  reduce_max(a: number, out: number, rows: number, cols: number): void;
  reduce_sumsq(a: number, out: number, rows: number, cols: number): void;
  /** scratch: cols f64. */
  column_sum(a: number, out: number, rows: number, cols: number, scratch: number): void;
  random_uniform(out: number, n: number, k0: number, k1: number, stream: number, offset: number): void;
  /** (logits, out, N, V, k0, k1, stream, offset, invT, topK, topP, greedy, scratch, part, parts); scratch: sample_scratch_bytes(V) per part. */
  sample_tokens: (...args: number[]) => void;
  sample_scratch_bytes(V: number): number;
  /** (logits, targets, logprobs, entropies, N, V, scale, part, parts) */
  token_logprobs: (...args: number[]) => void;
  embedding(ids: number, pos: number, wte: number, wpe: number, out: number, N: number, C: number, V: number, P: number): void;
  gather_rows(table: number, index: number, out: number, N: number, C: number, V: number): void;
  scatter_add_rows(src: number, order: number, starts: number, targets: number, dst: number, groups: number, C: number, R: number, V: number): void;
  layernorm(x: number, weight: number, bias: number, out: number, mean: number, rstd: number, N: number, C: number, eps: number): void;
  /** scratch: 2·C f64. */
  layernorm_backward(dout: number, x: number, weight: number, mean: number, rstd: number, dx: number, dweight: number, dbias: number, N: number, C: number, scratch: number): void;
  gelu(x: number, out: number, n: number): void;
  gelu_backward(dout: number, x: number, dx: number, n: number): void;
  gather_heads(src: number, dst: number, B: number, T: number, H: number, D: number, W: number, col: number, S: number, t0: number): void;
  scatter_heads(src: number, dst: number, B: number, T: number, H: number, D: number, W: number, col: number): void;
  /** (scores, keyMask, probs, B, H, T, part, parts) */
  causal_softmax: (...args: number[]) => void;
  /** (dprobs, probs, dscores, B, H, T, part, parts) */
  causal_softmax_backward: (...args: number[]) => void;
  /** (qkv, kCache, vCache, keyMask, out, B, T, H, D, S, W, start, part, parts) */
  cached_attention: (...args: number[]) => void;
  /** (logits, targets, weights, losses, dlogits or 0, N, V, scale, part, parts) */
  softmax_crossentropy: (...args: number[]) => void;
  ppo_rewards(logprobs: number, ref: number, mask: number, scores: number, rewards: number, kl: number, stats: number, R: number, T: number, estimator: number, klCoef: number): void;
  masked_whiten(x: number, mask: number, out: number, N: number, shiftMean: number): void;
  gae(rewards: number, values: number, mask: number, advantages: number, returns: number, R: number, T: number, gamma: number, lam: number): void;
  ppo_policy_loss(logprobs: number, old: number, advantages: number, mask: number, entropies: number, dLogprobs: number, stats: number, N: number, cliprange: number): void;
  ppo_value_loss(values: number, old: number, returns: number, mask: number, dValues: number, stats: number, N: number, cliprange: number, vfCoef: number): void;
  bradley_terry(scores: number, dScores: number, stats: number, P: number, center: number): void;
  dpo(logprobs: number, ref: number, mask: number, dLogprobs: number, stats: number, P: number, T: number, beta: number): void;
  rlmec(logprobs: number, ref: number, rewards: number, imitation: number, dLogprobs: number, stats: number, N: number, cliprange: number, lambda: number): void;
  gaussian_reparameterize(mu: number, raw: number, eps: number, z: number, sigma: number, n: number): void;
  gaussian_reparameterize_backward(dZ: number, dSigma: number, eps: number, raw: number, dMu: number, dRaw: number, n: number, accumulate: number): void;
  /** (mu1, sigma1, z1, mu2, sigma2, z2, tPos, tNeg, dMu1, dSigma1, dZ1, dMu2, dSigma2, dZ2, dTPos, dTNeg, stats, B, K, beta, weight) */
  mib_loss: (...args: number[]) => void;
  adamw(param: number, grad: number, m: number, v: number, n: number, beta1: number, beta2: number, eps: number,
    decay: number, stepSize: number, invSqrtBc2: number, gradSumSquares: number, maxGradNorm: number): void;
}

/** The kernels that take (part, parts) and may be split across the thread pool. */
export const THREADED_KERNELS = ['matmul', 'causal_softmax', 'causal_softmax_backward', 'softmax_crossentropy', 'cached_attention', 'sample_tokens', 'token_logprobs'] as const;
export type ThreadedKernel = (typeof THREADED_KERNELS)[number];

class WasmTensor extends Tensor {
  /** Byte offset in linear memory; a view's is its root's plus its offset. */
  readonly ptr: number;
  constructor(backend: WasmBackend, shape: Shape, ptr: number, base?: Tensor) {
    super(backend, shape, base);
    this.ptr = ptr;
  }
  protected release(): void {
    (this.backend as WasmBackend).arena.release(this.ptr);
  }
}

/** Below this many multiply-adds a matmul runs on one thread: waking workers costs more. */
const PARALLEL_MIN_MACS = 1 << 18;
/** Below this many elements a row-wise kernel (softmax, cross-entropy) runs on one thread. */
const PARALLEL_MIN_ELEMENTS = 1 << 16;

/**
 * The CPU backend: AssemblyScript SIMD kernels over one WebAssembly memory, optionally split
 * across worker threads that share it. Every element is computed by the same code whatever
 * the thread count, so results do not depend on it.
 */
export class WasmBackend extends Backend {
  readonly kind = 'wasm' as const;
  readonly arena: Arena;
  readonly threads: number;
  private readonly k: WasmKernels;
  private readonly pool: WasmThreadPool | undefined;
  /** Packing space for matmul, one slice per thread. */
  private readonly scratch: number;
  private readonly scratchBytes: number;
  private workspacePtr = 0;
  private workspaceBytes = 0;

  constructor(kernels: WasmKernels, pool?: WasmThreadPool) {
    super();
    this.k = kernels;
    this.pool = pool;
    this.threads = pool?.threads ?? 1;
    this.arena = new Arena(kernels.memory, kernels.heap_base());
    this.scratchBytes = kernels.matmul_scratch_bytes();
    this.scratch = this.arena.alloc(this.scratchBytes * this.threads);
  }

  info(): BackendInfo {
    return {
      kind: 'wasm',
      device: `WebAssembly SIMD (${this.threads} thread${this.threads > 1 ? 's' : ''})`,
      software: true,
      details: { threads: this.threads, memoryBytes: this.k.memory.buffer.byteLength, bytesInUse: this.arena.bytesInUse },
    };
  }

  protected allocate(shape: Shape): Tensor {
    const t = new WasmTensor(this, shape, this.arena.alloc(sizeOf(shape) * 4));
    this.f32(t).fill(0);
    return t;
  }

  protected upload(t: Tensor, data: Float32Array): void {
    this.f32(t).set(data);
  }

  protected download(t: Tensor): Promise<Float32Array> {
    return Promise.resolve(this.f32(t).slice());
  }

  protected runMatmul(a: Tensor, b: Tensor, out: Tensor, g: MatmulGeometry, o: MatmulOptions): void {
    const args = [ptr(a), ptr(b), o.bias ? ptr(o.bias) : 0, ptr(out), g.M, g.N, g.K, g.batch,
      g.strideA, g.strideB, g.strideOut, o.transA ? 1 : 0, o.transB ? 1 : 0, o.alpha ?? 1, o.accumulate ? 1 : 0, this.scratch, this.scratchBytes];
    const rows = g.batch > 1 ? g.batch * g.M : g.M;
    const parts = Math.min(this.threads, rows);
    if (this.pool && parts > 1 && g.batch * g.M * g.N * g.K >= PARALLEL_MIN_MACS) this.pool.run('matmul', this.k.matmul, args, parts);
    else this.k.matmul(...args, 0, 1);
  }

  protected runAdd(a: Tensor, b: Tensor, out: Tensor): void {
    this.k.add(ptr(a), ptr(b), ptr(out), out.size);
  }

  protected runScale(a: Tensor, s: number, out: Tensor): void {
    this.k.scale(ptr(a), s, ptr(out), out.size);
  }

  protected runReduce(op: ReduceOp, a: Tensor, out: Tensor, rows: number, cols: number): void {
    const kernel = { sum: this.k.reduce_sum, max: this.k.reduce_max, sumsq: this.k.reduce_sumsq }[op];
    kernel(ptr(a), ptr(out), rows, cols);
  }

  // ---- Sampling (wasm/philox.ts, sampling.ts, logprobs.ts) -----------------------------

  protected runRandomUniform(out: Tensor, c: PhiloxPlan): void {
    this.k.random_uniform(ptr(out), out.size, c.key[0], c.key[1], c.stream, c.offset);
  }

  protected runSampleTokens(logits: Tensor, out: Tensor, N: number, V: number, s: SamplePlan): void {
    // A row's keys and weights, one slice per thread (greedy needs none).
    const scratch = s.greedy ? 0 : this.workspace(this.k.sample_scratch_bytes(V) * this.threads);
    const args = [ptr(logits), ptr(out), N, V, s.key[0], s.key[1], s.stream, s.offset, s.invTemperature, s.topK, s.topP, Number(s.greedy), scratch];
    this.rowwise('sample_tokens', this.k.sample_tokens, args, N, logits.size);
  }

  protected runTokenLogprobs(logits: Tensor, targets: Tensor, logprobs: Tensor, entropies: Tensor, N: number, V: number, scale: number): void {
    this.rowwise('token_logprobs', this.k.token_logprobs, [ptr(logits), ptr(targets), ptr(logprobs), ptr(entropies), N, V, scale], N, logits.size);
  }

  // ---- Storage ---------------------------------------------------------------------------

  protected viewOffset(t: Tensor): number {
    return (ptr(t) - ptr(t.base ?? t)) / 4;
  }

  protected makeView(root: Tensor, offset: number, shape: Shape): Tensor {
    return new WasmTensor(this, shape, ptr(root) + offset * 4, root);
  }

  protected runZero(t: Tensor): void {
    this.f32(t).fill(0);
  }

  protected runCopy(src: Tensor, dst: Tensor): void {
    new Uint8Array(this.k.memory.buffer).copyWithin(ptr(dst), ptr(src), ptr(src) + src.size * 4);
  }

  // ---- Transformer layer ops (wasm/embedding.ts, layernorm.ts, gelu.ts, attention.ts, ...) --

  protected runEmbedding(ids: Tensor, pos: Tensor, wte: Tensor, wpe: Tensor, out: Tensor, N: number, C: number, V: number, P: number): void {
    this.k.embedding(ptr(ids), ptr(pos), ptr(wte), ptr(wpe), ptr(out), N, C, V, P);
  }

  protected runGatherRows(table: Tensor, index: Tensor, out: Tensor, N: number, C: number, V: number): void {
    this.k.gather_rows(ptr(table), ptr(index), ptr(out), N, C, V);
  }

  protected runScatterAddRows(src: Tensor, index: RowIndex, dst: Tensor, C: number, V: number): void {
    this.k.scatter_add_rows(ptr(src), ptr(index.order), ptr(index.starts), ptr(index.targets), ptr(dst), index.groups, C, src.shape[0]!, V);
  }

  protected runLayerNorm(x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, mean: Tensor, rstd: Tensor, N: number, C: number, eps: number): void {
    this.k.layernorm(ptr(x), ptr(weight), ptr(bias), ptr(out), ptr(mean), ptr(rstd), N, C, eps);
  }

  protected runLayerNormBackward(dout: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor, dx: Tensor, dweight: Tensor, dbias: Tensor, N: number, C: number): void {
    const scratch = this.workspace(C * 16);
    this.k.layernorm_backward(ptr(dout), ptr(x), ptr(weight), ptr(mean), ptr(rstd), ptr(dx), ptr(dweight), ptr(dbias), N, C, scratch);
  }

  protected runGelu(x: Tensor, out: Tensor, n: number): void {
    this.k.gelu(ptr(x), ptr(out), n);
  }

  protected runGeluBackward(dout: Tensor, x: Tensor, dx: Tensor, n: number): void {
    this.k.gelu_backward(ptr(dout), ptr(x), ptr(dx), n);
  }

  protected runColumnSum(x: Tensor, out: Tensor, rows: number, cols: number): void {
    const scratch = this.workspace(cols * 8);
    this.k.column_sum(ptr(x), ptr(out), rows, cols, scratch);
  }

  protected runGatherHeads(src: Tensor, dst: Tensor, g: HeadsGeometry): void {
    this.k.gather_heads(ptr(src), ptr(dst), g.B, g.T, g.H, g.D, g.W, g.col, g.S, g.t0);
  }

  protected runScatterHeads(src: Tensor, dst: Tensor, g: HeadsGeometry): void {
    this.k.scatter_heads(ptr(src), ptr(dst), g.B, g.T, g.H, g.D, g.W, g.col);
  }

  protected runCachedAttention(qkv: Tensor, kCache: Tensor, vCache: Tensor, keyMask: Tensor, out: Tensor, g: CachedAttentionGeometry): void {
    const args = [ptr(qkv), ptr(kCache), ptr(vCache), ptr(keyMask), ptr(out), g.B, g.T, g.H, g.D, g.S, g.W, g.start];
    this.rowwise('cached_attention', this.k.cached_attention, args, g.B * g.T * g.H, g.B * g.H * (g.start + g.T) * g.D * g.T);
  }

  protected runCausalSoftmax(scores: Tensor, keyMask: Tensor, probs: Tensor, B: number, H: number, T: number): void {
    this.rowwise('causal_softmax', this.k.causal_softmax, [ptr(scores), ptr(keyMask), ptr(probs), B, H, T], B * H * T, scores.size);
  }

  protected runCausalSoftmaxBackward(dprobs: Tensor, probs: Tensor, dscores: Tensor, B: number, H: number, T: number): void {
    this.rowwise('causal_softmax_backward', this.k.causal_softmax_backward, [ptr(dprobs), ptr(probs), ptr(dscores), B, H, T], B * H * T, probs.size);
  }

  protected runSoftmaxCrossEntropy(logits: Tensor, targets: Tensor, weights: Tensor, losses: Tensor, dlogits: Tensor | undefined, N: number, V: number, scale: number): void {
    const args = [ptr(logits), ptr(targets), ptr(weights), ptr(losses), dlogits ? ptr(dlogits) : 0, N, V, scale];
    this.rowwise('softmax_crossentropy', this.k.softmax_crossentropy, args, N, logits.size);
  }

  // ---- Reward losses (wasm/losses/): single-threaded, they touch a batch's tokens only ----

  protected runPPORewards(logprobs: Tensor, refLogprobs: Tensor, mask: Tensor, scores: Tensor, rewards: Tensor, kl: Tensor, stats: Tensor, p: PPORewardPlan): void {
    this.k.ppo_rewards(ptr(logprobs), ptr(refLogprobs), ptr(mask), ptr(scores), ptr(rewards), ptr(kl), ptr(stats), p.R, p.T, p.estimator, p.klCoef);
  }

  protected runMaskedWhiten(x: Tensor, mask: Tensor, out: Tensor, N: number, shiftMean: boolean): void {
    this.k.masked_whiten(ptr(x), ptr(mask), ptr(out), N, Number(shiftMean));
  }

  protected runGAE(rewards: Tensor, values: Tensor, mask: Tensor, advantages: Tensor, returns: Tensor, p: GAEPlan): void {
    this.k.gae(ptr(rewards), ptr(values), ptr(mask), ptr(advantages), ptr(returns), p.R, p.T, p.gamma, p.lam);
  }

  protected runPPOPolicyLoss(logprobs: Tensor, oldLogprobs: Tensor, advantages: Tensor, mask: Tensor, entropies: Tensor, dLogprobs: Tensor, stats: Tensor, N: number, cliprange: number): void {
    this.k.ppo_policy_loss(ptr(logprobs), ptr(oldLogprobs), ptr(advantages), ptr(mask), ptr(entropies), ptr(dLogprobs), ptr(stats), N, cliprange);
  }

  protected runPPOValueLoss(values: Tensor, oldValues: Tensor, returns: Tensor, mask: Tensor, dValues: Tensor, stats: Tensor, N: number, cliprangeValue: number, vfCoef: number): void {
    this.k.ppo_value_loss(ptr(values), ptr(oldValues), ptr(returns), ptr(mask), ptr(dValues), ptr(stats), N, cliprangeValue, vfCoef);
  }

  protected runBradleyTerryLoss(scores: Tensor, dScores: Tensor, stats: Tensor, P: number, center: number): void {
    this.k.bradley_terry(ptr(scores), ptr(dScores), ptr(stats), P, center);
  }

  protected runRLMECLoss(logprobs: Tensor, refLogprobs: Tensor, rewards: Tensor, imitation: Tensor, dLogprobs: Tensor, stats: Tensor, N: number, cliprange: number, imitationWeight: number): void {
    this.k.rlmec(ptr(logprobs), ptr(refLogprobs), ptr(rewards), ptr(imitation), ptr(dLogprobs), ptr(stats), N, cliprange, imitationWeight);
  }

  protected runDPOLoss(logprobs: Tensor, refLogprobs: Tensor, mask: Tensor, dLogprobs: Tensor, stats: Tensor, P: number, T: number, beta: number): void {
    this.k.dpo(ptr(logprobs), ptr(refLogprobs), ptr(mask), ptr(dLogprobs), ptr(stats), P, T, beta);
  }

  protected runGaussianReparameterize(mu: Tensor, rawSigma: Tensor, eps: Tensor, z: Tensor, sigma: Tensor, n: number): void {
    this.k.gaussian_reparameterize(ptr(mu), ptr(rawSigma), ptr(eps), ptr(z), ptr(sigma), n);
  }

  protected runGaussianReparameterizeBackward(dZ: Tensor, dSigma: Tensor, eps: Tensor, rawSigma: Tensor, dMu: Tensor, dRawSigma: Tensor, n: number, accumulate: boolean): void {
    this.k.gaussian_reparameterize_backward(ptr(dZ), ptr(dSigma), ptr(eps), ptr(rawSigma), ptr(dMu), ptr(dRawSigma), n, Number(accumulate));
  }

  protected runMIBLoss(i: MIBLossInputs, o: MIBLossOutputs, p: MIBLossPlan): void {
    const tensors = [i.mu1, i.sigma1, i.z1, i.mu2, i.sigma2, i.z2, i.tPos, i.tNeg, o.dMu1, o.dSigma1, o.dZ1, o.dMu2, o.dSigma2, o.dZ2, o.dTPos, o.dTNeg, o.stats];
    this.k.mib_loss(...tensors.map(ptr), p.B, p.K, p.beta, p.weight);
  }

  protected runAdamW(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, s: AdamWStep): void {
    // Bias corrections in f64 here; the kernel gets them as f32 constants.
    const bc1 = 1 - Math.pow(s.beta1, s.step);
    const bc2 = 1 - Math.pow(s.beta2, s.step);
    const clipped = s.gradSumSquares !== undefined && (s.maxGradNorm ?? 0) > 0;
    this.k.adamw(ptr(param), ptr(grad), ptr(m), ptr(v), param.size, s.beta1, s.beta2, s.eps,
      1 - s.lr * s.weightDecay, s.lr / bc1, 1 / Math.sqrt(bc2), clipped ? ptr(s.gradSumSquares!) : 0, clipped ? s.maxGradNorm! : 0);
  }

  /**
   * Runs a kernel that takes (part, parts) and splits its rows: across the thread pool when
   * there is one and the work is big enough, else in one call. Every row is computed by the
   * same code either way, so results do not depend on the thread count.
   */
  private rowwise(name: ThreadedKernel, kernel: (...a: number[]) => void, args: number[], rows: number, elements: number): void {
    const parts = Math.min(this.threads, rows);
    if (this.pool && parts > 1 && elements >= PARALLEL_MIN_ELEMENTS) this.pool.run(name, kernel, args, parts);
    else kernel(...args, 0, 1);
  }

  /**
   * Scratch space for one kernel call (column sums in f64; a slice per thread for sampling);
   * kept between calls and grown on demand. Calls are synchronous, so one region serves them all.
   */
  private workspace(bytes: number): number {
    if (bytes > this.workspaceBytes) {
      if (this.workspacePtr) this.arena.release(this.workspacePtr);
      this.workspaceBytes = Math.max(bytes, 2 * this.workspaceBytes, 4096);
      this.workspacePtr = this.arena.alloc(this.workspaceBytes);
    }
    return this.workspacePtr;
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    this.pool?.dispose();
  }

  /** A view of the tensor's bytes; made fresh each time because memory.grow detaches old views. */
  private f32(t: Tensor): Float32Array {
    return new Float32Array(this.k.memory.buffer, ptr(t), t.size);
  }
}

const ptr = (t: Tensor): number => (t as WasmTensor).ptr;

