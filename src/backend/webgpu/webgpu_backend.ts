import { DeviceLimitError, DeviceLostError, GPUOpError } from '../../errors.js';
import { adapterName, type AcquiredGPU, type AdapterSummary } from '../../runtime/gpu_acquire.js';
import { Backend, Tensor, type BackendInfo, type MatmulOptions, type ReduceOp } from '../backend.js';
import type { AdamWStep, CachedAttentionGeometry, HeadsGeometry, RowIndex } from '../layer_ops.js';
import type { PhiloxPlan, SamplePlan } from '../sampling_ops.js';
import type { GAEPlan, MIBLossInputs, MIBLossOutputs, MIBLossPlan, PPORewardPlan } from '../loss_ops.js';
import { fmt, sizeOf, type MatmulGeometry, type Shape } from '../shapes.js';
import type { KernelFile } from './kernels.js';
import { PipelineCache } from './pipelines.js';
import { packParams, UniformRing } from './uniform_ring.js';

/**
 * A tensor's storage: a whole GPUBuffer (a root), or for a view the root's buffer from
 * `byteOffset` on (a multiple of 256 bytes, WebGPU's minStorageBufferOffsetAlignment).
 */
class GPUTensor extends Tensor {
  readonly buffer: GPUBuffer;
  readonly byteOffset: number;
  constructor(backend: WebGPUBackend, shape: Shape, buffer: GPUBuffer, byteOffset = 0, base?: Tensor) {
    super(backend, shape, base);
    this.buffer = buffer;
    this.byteOffset = byteOffset;
  }
  /** Bytes the tensor's values occupy (copies and clears touch exactly these). */
  get bytes(): number {
    return this.size * 4;
  }
  /**
   * Bytes a binding of the tensor covers: its values rounded up to 16 (kernels may view
   * buffers as vec4s), clamped to what the buffer holds past the offset.
   */
  get bindBytes(): number {
    return Math.min(Math.max(16, Math.ceil(this.bytes / 16) * 16), this.buffer.size - this.byteOffset);
  }
  protected release(): void {
    (this.backend as WebGPUBackend).releaseBuffer(this.buffer);
  }
}

/** Command buffers waiting for one submit; flushed at read(), flush(), or when this many pile up. */
const MAX_PENDING = 64;
/** Workgroups per grid dimension that every adapter supports. */
const MAX_GRID = 65535;
/** Invocations per workgroup of the column kernels (column_sum, layernorm backward_params). */
const COLUMN_WG = 64;
/** Invocations per workgroup, and values per invocation (one vec4), of gelu.wgsl and adamw.wgsl. */
const FLAT_WG = 64;
const FLAT_PER = 4;
/** Rows per workgroup of the one-invocation-per-row kernels. */
const ROW_WG = 64;
/**
 * The widest row one invocation takes (3 passes of 4096 stay far below the 65535 loop
 * iterations of Mesa's gallivm, see LOOP_CHUNK); wider rows use a workgroup per row.
 */
const ROW_LOOP_MAX = 4096;
const REDUCE_OPS: Record<ReduceOp, number> = { sum: 0, max: 1, sumsq: 2 };
/**
 * Mesa's gallivm (llvmpipe, lavapipe: Dawn's GL path in Node and wgpu in Deno) ends every loop
 * of an invocation once the invocation has run 65535 loop iterations in total, silently. So
 * kernels whose loops could run that long take their work in chunks: rows per dispatch
 * (column sums, scatter-add), values per workgroup (reductions).
 */
const LOOP_CHUNK = 16384;
/** Values of a row one reduce_rows workgroup (256 invocations) takes: 2048 iterations each. */
const REDUCE_SEGMENT = 256 * 2048;

/**
 * The shape of the matmul kernel (override constants of kernels/matmul.wgsl): each invocation
 * computes R rows × 4·C columns of the product; a workgroup is WX × WY invocations.
 */
export interface MatmulTiling {
  R: number;
  C: number;
  WX: number;
  WY: number;
}

/**
 * Software rasterisers (llvmpipe, lavapipe, SwiftShader) run a workgroup on one CPU thread,
 * 8 invocations to a SIMD vector, and fetch each lane's load separately, so the largest
 * block wins: on llvmpipe 16×16 outputs per invocation ran ~1.8× faster than 8×16. 32×16
 * was 5–20% faster still but takes ~2.5× as long to compile (~3 s per variant), so not
 * chosen. 8 invocations across N fill exactly one SIMD vector.
 */
export const SOFTWARE_MATMUL: MatmulTiling = { R: 16, C: 4, WX: 8, WY: 8 };
/** Hardware GPUs keep accumulators in registers: 4×4 per invocation, 256 invocations. */
export const HARDWARE_MATMUL: MatmulTiling = { R: 4, C: 1, WX: 16, WY: 16 };

/**
 * The WebGPU backend. Each op records its own command buffer inside an error scope (so a
 * validation error names the op), command buffers are submitted together, and data comes
 * back to the host only through read().
 */
export class WebGPUBackend extends Backend {
  readonly kind = 'webgpu' as const;
  readonly device: GPUDevice;
  readonly adapter: AdapterSummary;
  /** Chosen per adapter; tests switch it to cover both shapes on one device. */
  matmulTiling: MatmulTiling;
  /**
   * How layerNorm and causalSoftmax (forward and backward) spread a row: over a workgroup
   * (a tree in workgroup memory combines the row's statistics), or onto one invocation. On
   * software rasterisers barriers are coroutine switches and dominate short rows: one
   * invocation per row measured 3–7× faster on llvmpipe (T = 128 to 1024). Hardware GPUs want
   * coalesced loads: a workgroup per row. Chosen per adapter; tests switch it to cover both.
   */
  rowKernels: 'workgroup' | 'invocation';
  private readonly pipelines: PipelineCache;
  private readonly uniforms: UniformRing;
  private pending: GPUCommandBuffer[] = [];
  /** Buffers of released tensors, destroyed once the pending batch is submitted. */
  private scratch: GPUBuffer[] = [];
  private errors: Promise<GPUOpError | undefined>[] = [];
  private lost: DeviceLostError | undefined;
  private disposed = false;
  /** Bound in place of an absent optional input (a matmul without bias). */
  private readonly placeholder: GPUBuffer;
  /**
   * The GPU object the device came from. Dawn (Node) tears its instance down when this is
   * garbage-collected, taking the device with it, so the backend holds it until dispose().
   */
  private gpu: GPU | undefined;

  constructor(acquired: AcquiredGPU) {
    super();
    this.device = acquired.device;
    this.adapter = acquired.summary;
    this.gpu = acquired.gpu;
    this.matmulTiling = this.adapter.software ? SOFTWARE_MATMUL : HARDWARE_MATMUL;
    this.rowKernels = this.adapter.software ? 'invocation' : 'workgroup';
    this.pipelines = new PipelineCache(this.device);
    this.uniforms = new UniformRing(this.device);
    this.placeholder = this.device.createBuffer({ label: 'placeholder', size: 16, usage: GPUBufferUsage.STORAGE });
    void this.device.lost.then((info) => {
      if (!this.disposed) this.lost = new DeviceLostError(info.reason ?? 'unknown', info.message);
    });
  }

  info(): BackendInfo {
    return {
      kind: 'webgpu',
      device: adapterName(this.adapter),
      software: this.adapter.software,
      details: { ...this.adapter, pipelines: this.pipelines.size, matmulTiling: this.matmulTiling, rowKernels: this.rowKernels },
    };
  }

  protected allocate(shape: Shape): Tensor {
    this.alive();
    const bytes = sizeOf(shape) * 4;
    const limits = this.device.limits;
    const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    if (bytes > limit) {
      throw new DeviceLimitError(
        `WebGPU: a tensor of shape ${fmt(shape)} needs ${bytes} bytes, but this adapter (${adapterName(this.adapter)}) binds at most ` +
        `${limit} bytes (maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}, maxBufferSize ${limits.maxBufferSize}); ` +
        `split the tensor, lower the batch size, or use the wasm backend`,
      );
    }
    // Multiples of 16 bytes, so any kernel may view the buffer as vec4s.
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const buffer = this.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    return new GPUTensor(this, shape, buffer);
  }

  protected upload(t: Tensor, data: Float32Array): void {
    this.alive();
    // Deno's wgpu panics on zero-byte writes.
    const g = t as GPUTensor;
    if (data.byteLength > 0) this.device.queue.writeBuffer(g.buffer, g.byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  protected async download(t: Tensor): Promise<Float32Array> {
    this.alive();
    const g = t as GPUTensor;
    const bytes = g.bytes;
    const staging = this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = this.device.createCommandEncoder({ label: 'read' });
    // A view near the end of its buffer may have fewer than the rounded-up bytes after it.
    const copy = Math.min(staging.size, g.buffer.size - g.byteOffset);
    if (copy > 0) encoder.copyBufferToBuffer(g.buffer, g.byteOffset, staging, 0, copy);
    this.pending.push(encoder.finish());
    this.submit();
    try {
      await holdOpen(staging.mapAsync(GPUMapMode.READ));
      const result = new Float32Array(staging.getMappedRange(0, staging.size).slice(0, bytes));
      staging.unmap();
      await this.rethrow();
      return result;
    } catch (e) {
      this.alive();
      throw e;
    } finally {
      staging.destroy();
    }
  }

  protected runMatmul(a: Tensor, b: Tensor, out: Tensor, g: MatmulGeometry, o: MatmulOptions): void {
    const { R, C, WX, WY } = this.matmulTiling;
    const tilesX = Math.ceil(g.N / (WX * 4 * C));
    const tilesY = Math.ceil(g.M / (WY * R));
    // One workgroup per tile per batch entry, folded into x and y (each ≤ 65535).
    const [gridX, gridY] = grid2d(tilesX * tilesY * g.batch);
    const params = packParams([g.M, g.N, g.K, g.batch, g.strideA, g.strideB, g.strideOut, tilesX, tilesY, gridX, o.alpha ?? 1], [10]);
    const constants = {
      ...this.matmulTiling,
      TRANS_A: Number(!!o.transA),
      TRANS_B: Number(!!o.transB),
      // vec4 loads need every stored row to start on a vec4: rows of A are M long when
      // transposed (else K), rows of B are K long when transposed (else N), rows of out N.
      ALIGNED_A: Number((o.transA ? g.M : g.K) % 4 === 0),
      ALIGNED_B: Number((o.transB ? g.K : g.N) % 4 === 0),
      ALIGNED_OUT: Number(g.N % 4 === 0),
      HAS_BIAS: Number(!!o.bias),
      ACCUMULATE: Number(!!o.accumulate),
    };
    this.dispatch('matmul', 'matmul', 'main', [a, b, o.bias ?? this.placeholder, out], params, [gridX, gridY, 1], constants);
  }

  protected runAdd(a: Tensor, b: Tensor, out: Tensor): void {
    // In-place forms keep every buffer bound once (IEEE addition is commutative, x + x = 2x exactly).
    if (out === a && out === b) this.elementwise('scale_into', null, null, 2, out);
    else if (out === a) this.elementwise('add_into', null, b, 0, out);
    else if (out === b) this.elementwise('add_into', null, a, 0, out);
    else this.elementwise('add', a, b, 0, out);
  }

  protected runScale(a: Tensor, s: number, out: Tensor): void {
    if (out === a) this.elementwise('scale_into', null, null, s, out);
    else this.elementwise('scale', a, null, s, out);
  }

  protected runReduce(op: ReduceOp, a: Tensor, out: Tensor, rows: number, cols: number): void {
    if (cols <= REDUCE_SEGMENT) {
      this.reduceRows(op, op, a, out, rows, cols, 1, cols);
      return;
    }
    // Long rows: each row's segments reduce into partials [rows, segs] first (no invocation
    // may loop 65535 times on llvmpipe), then the partials reduce like any row.
    const segs = Math.ceil(cols / REDUCE_SEGMENT);
    const seg = Math.ceil(cols / segs);
    const partials = this.allocate([rows, segs]);
    this.reduceRows(op, op, a, partials, rows, cols, segs, seg);
    this.runReduce(op === 'sumsq' ? 'sum' : op, partials, out, rows, segs);
    this.retire(partials);
  }

  /** One reduce_rows dispatch: `kernelOp` over segments of `seg` values, segs per row. */
  private reduceRows(op: string, kernelOp: ReduceOp, a: Tensor, out: Tensor, rows: number, cols: number, segs: number, seg: number): void {
    const [x, y] = grid2d(rows * segs);
    this.dispatch(op, 'reduce', 'reduce_rows', [a, out], packParams([rows, cols, x, segs, seg]), [x, y, 1], { OP: REDUCE_OPS[kernelOp] });
  }

  // ---- Sampling (kernels/philox.wgsl in front of random.wgsl and sampling.wgsl; logprobs.wgsl) --

  protected runRandomUniform(out: Tensor, c: PhiloxPlan): void {
    const [x, y] = grid2d(Math.ceil(out.size / RANDOM_WG));
    this.dispatch('randomUniform', 'random', 'random_uniform', [out], packParams([out.size, x * RANDOM_WG, ...c.key, c.stream, c.offset]), [x, y, 1]);
  }

  /**
   * One workgroup per row on every adapter (one invocation per row would run the bisection
   * passes over a vocabulary past Mesa's 65535 loop iterations), sized by V: see vocabRowWorkgroup.
   */
  protected runSampleTokens(logits: Tensor, out: Tensor, N: number, V: number, s: SamplePlan): void {
    const [x, y] = grid2d(N);
    const params = packParams([N, V, x, s.topK, ...s.key, s.stream, s.offset, s.invTemperature, s.topP, Number(s.greedy)], [8, 9]);
    this.dispatch('sampleTokens', 'sampling', 'sample_tokens', [logits, out], params, [x, y, 1], { WG: vocabRowWorkgroup(V) });
  }

  protected runTokenLogprobs(logits: Tensor, targets: Tensor, logprobs: Tensor, entropies: Tensor, N: number, V: number, scale: number): void {
    const [x, y] = grid2d(N);
    this.dispatch(
      'tokenLogprobs', 'logprobs', 'token_logprobs', [logits, targets, logprobs, entropies],
      packParams([N, V, x, scale, 0x7fc00000], [3]), [x, y, 1], { WG: vocabRowWorkgroup(V) },
    );
  }

  // ---- Storage ---------------------------------------------------------------------------

  protected viewOffset(t: Tensor): number {
    return (t as GPUTensor).byteOffset / 4;
  }

  protected makeView(root: Tensor, offset: number, shape: Shape): Tensor {
    return new GPUTensor(this, shape, buf(root), offset * 4, root);
  }

  protected runZero(t: Tensor): void {
    const g = t as GPUTensor;
    // Exactly the view's bytes (a multiple of 4): rounding up would clear a neighbour's values.
    if (g.bytes > 0) this.encode('zero', (e) => e.clearBuffer(g.buffer, g.byteOffset, g.bytes));
  }

  protected runCopy(src: Tensor, dst: Tensor): void {
    const s = src as GPUTensor;
    const d = dst as GPUTensor;
    if (s.bytes > 0) this.encode('copy', (e) => e.copyBufferToBuffer(s.buffer, s.byteOffset, d.buffer, d.byteOffset, s.bytes));
  }

  // ---- Layer ops -------------------------------------------------------------------------

  protected runEmbedding(ids: Tensor, pos: Tensor, wte: Tensor, wpe: Tensor, out: Tensor, N: number, C: number, V: number, P: number): void {
    const [x, y] = grid2d(N);
    this.dispatch('embedding', 'embedding', 'embedding', [ids, pos, wte, wpe, null, null, null, out], packParams([N, C, V, P, x]), [x, y, 1]);
  }

  protected runGatherRows(table: Tensor, index: Tensor, out: Tensor, N: number, C: number, V: number): void {
    const [x, y] = grid2d(N);
    this.dispatch('gatherRows', 'embedding', 'gather_rows', [index, null, table, null, null, null, null, out], packParams([N, C, V, 0, x]), [x, y, 1]);
  }

  protected runScatterAddRows(src: Tensor, index: RowIndex, dst: Tensor, C: number, V: number): void {
    // One workgroup per (group, 64 columns). No group has more rows than order holds, so
    // windows of LOOP_CHUNK rows per group, one dispatch each, cover every group (one window
    // unless there are more rows than that: the loop limit of llvmpipe).
    const colBlocks = Math.ceil(C / COLUMN_WG);
    const [x, y] = grid2d(index.groups * colBlocks);
    for (const [start] of chunks(Math.max(1, index.order.size), LOOP_CHUNK)) {
      this.dispatch(
        'scatterAddRows', 'embedding', 'scatter_add_rows', [null, null, src, null, index.order, index.starts, index.targets, dst],
        packParams([index.groups, C, V, 0, x, colBlocks, start, LOOP_CHUNK]), [x, y, 1],
      );
    }
  }

  protected runLayerNorm(x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, mean: Tensor, rstd: Tensor, N: number, C: number, eps: number): void {
    const rows = this.rowPerInvocation(C);
    const [gx, gy] = grid2d(rows ? Math.ceil(N / ROW_WG) : N);
    this.dispatch(
      'layerNorm', 'layernorm', rows ? 'forward_rows' : 'forward', [x, weight, bias, out, mean, rstd, null, null, null, null, null, null],
      packParams([N, C, gx, eps, 0, 0], [3]), [gx, gy, 1],
    );
  }

  protected runLayerNormBackward(
    dout: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor, dx: Tensor, dweight: Tensor, dbias: Tensor, N: number, C: number,
  ): void {
    const rows = this.rowPerInvocation(C);
    const [gx, gy] = grid2d(rows ? Math.ceil(N / ROW_WG) : N);
    this.dispatch(
      'layerNormBackward', 'layernorm', rows ? 'backward_dx_rows' : 'backward_dx', [x, weight, null, null, null, null, dout, mean, rstd, dx, null, null],
      packParams([N, C, gx, 0, 0, 0], [3]), [gx, gy, 1],
    );
    // dweight and dbias may be views of one buffer: both are read_write bindings, which WebGPU
    // allows. One dispatch per chunk of rows, each adding in turn (the loop limit of llvmpipe).
    const [cx, cy] = grid2d(Math.ceil(C / COLUMN_WG));
    for (const [start, count] of chunks(N, LOOP_CHUNK)) {
      this.dispatch(
        'layerNormBackward', 'layernorm', 'backward_params', [x, null, null, null, null, null, dout, mean, rstd, null, dweight, dbias],
        packParams([N, C, cx, 0, start, count], [3]), [cx, cy, 1],
      );
    }
  }

  protected runGelu(x: Tensor, out: Tensor, n: number): void {
    this.flat('gelu', 'gelu', 'forward', [x, null, out], n);
  }

  protected runGeluBackward(dout: Tensor, x: Tensor, dx: Tensor, n: number): void {
    this.flat('geluBackward', 'gelu', 'backward', [x, dout, dx], n);
  }

  protected runColumnSum(x: Tensor, out: Tensor, rows: number, cols: number): void {
    const [gx, gy] = grid2d(Math.ceil(cols / COLUMN_WG));
    // One dispatch per chunk of rows, each adding into out in turn (the loop limit of llvmpipe).
    for (const [start, count] of chunks(rows, LOOP_CHUNK)) {
      this.dispatch('columnSum', 'reduce', 'column_sum', [x, out], packParams([rows, cols, gx, 1, 0, start, count]), [gx, gy, 1]);
    }
  }

  protected runGatherHeads(src: Tensor, dst: Tensor, g: HeadsGeometry): void {
    this.heads('gatherHeads', 'gather_heads', src, dst, g);
  }

  protected runScatterHeads(src: Tensor, dst: Tensor, g: HeadsGeometry): void {
    this.heads('scatterHeads', 'scatter_heads', src, dst, g);
  }

  protected runCachedAttention(qkv: Tensor, kCache: Tensor, vCache: Tensor, keyMask: Tensor, out: Tensor, g: CachedAttentionGeometry): void {
    const [x, y] = grid2d(g.B * g.T * g.H);
    const params = packParams([g.B, g.T, g.H, g.D, g.S, g.W, g.start, x, 1 / Math.sqrt(g.D)], [8]);
    this.dispatch('cachedAttention', 'cached_attention', 'main', [qkv, kCache, vCache, keyMask, out], params, [x, y, 1]);
  }

  protected runCausalSoftmax(scores: Tensor, keyMask: Tensor, probs: Tensor, B: number, H: number, T: number): void {
    this.softmaxRows('causalSoftmax', 'causal_softmax', [null, null, scores, keyMask, probs, null, null, null], B, H, T);
  }

  protected runCausalSoftmaxBackward(dprobs: Tensor, probs: Tensor, dscores: Tensor, B: number, H: number, T: number): void {
    this.softmaxRows('causalSoftmaxBackward', 'causal_softmax_backward', [null, null, null, null, null, dprobs, probs, dscores], B, H, T);
  }

  /** A causal-softmax kernel over B·H·T rows, in the row strategy rowKernels picks for T. */
  private softmaxRows(op: string, entry: string, storage: (Tensor | null)[], B: number, H: number, T: number): void {
    const rows = this.rowPerInvocation(T);
    const [x, y] = grid2d(rows ? Math.ceil((B * H * T) / ROW_WG) : B * H * T);
    this.dispatch(op, 'attention', rows ? `${entry}_rows` : entry, storage, packParams([B, T, H, 0, 0, 0, x, 0, 0]), [x, y, 1]);
  }

  protected runSoftmaxCrossEntropy(logits: Tensor, targets: Tensor, weights: Tensor, losses: Tensor, dlogits: Tensor | undefined, N: number, V: number, scale: number): void {
    const [x, y] = grid2d(N);
    // Without dlogits the kernel never touches binding 4; the placeholder fills it.
    this.dispatch(
      'softmaxCrossEntropy', 'crossentropy', 'main', [logits, targets, weights, losses, dlogits ?? this.placeholder],
      packParams([N, V, x, scale], [3]), [x, y, 1], { HAS_DLOGITS: Number(!!dlogits) },
    );
  }

  // ---- Reward losses (kernels/losses/: one workgroup each, see workgroup_sum.wgsl) --------

  protected runPPORewards(logprobs: Tensor, refLogprobs: Tensor, mask: Tensor, scores: Tensor, rewards: Tensor, kl: Tensor, stats: Tensor, p: PPORewardPlan): void {
    this.lossDispatch('ppoRewards', 'ppo_rewards', [logprobs, refLogprobs, mask, scores, rewards, kl, stats], [p.R, p.T, p.estimator, 0, p.klCoef]);
  }

  protected runMaskedWhiten(x: Tensor, mask: Tensor, out: Tensor, N: number, shiftMean: boolean): void {
    this.lossDispatch('maskedWhiten', 'masked_whiten', [x, mask, out], [N, Number(shiftMean)]);
  }

  protected runGAE(rewards: Tensor, values: Tensor, mask: Tensor, advantages: Tensor, returns: Tensor, p: GAEPlan): void {
    this.lossDispatch('gae', 'gae', [rewards, values, mask, advantages, returns], [p.R, p.T, 0, 0, p.gamma, p.lam]);
  }

  protected runPPOPolicyLoss(logprobs: Tensor, oldLogprobs: Tensor, advantages: Tensor, mask: Tensor, entropies: Tensor, dLogprobs: Tensor, stats: Tensor, N: number, cliprange: number): void {
    this.lossDispatch('ppoPolicyLoss', 'ppo_policy_loss', [logprobs, oldLogprobs, advantages, mask, entropies, dLogprobs, stats], [N, 0, 0, 0, cliprange]);
  }

  protected runPPOValueLoss(values: Tensor, oldValues: Tensor, returns: Tensor, mask: Tensor, dValues: Tensor, stats: Tensor, N: number, cliprangeValue: number, vfCoef: number): void {
    this.lossDispatch('ppoValueLoss', 'ppo_value_loss', [values, oldValues, returns, mask, dValues, stats], [N, 0, 0, 0, cliprangeValue, vfCoef]);
  }

  protected runBradleyTerryLoss(scores: Tensor, dScores: Tensor, stats: Tensor, P: number, center: number): void {
    this.lossDispatch('bradleyTerryLoss', 'bradley_terry', [scores, dScores, stats], [P, 0, 0, 0, center]);
  }

  protected runDPOLoss(logprobs: Tensor, refLogprobs: Tensor, mask: Tensor, dLogprobs: Tensor, stats: Tensor, P: number, T: number, beta: number): void {
    this.lossDispatch('dpoLoss', 'dpo', [logprobs, refLogprobs, mask, dLogprobs, stats], [P, T, 0, 0, beta]);
  }

  protected runRLMECLoss(logprobs: Tensor, refLogprobs: Tensor, rewards: Tensor, imitation: Tensor, dLogprobs: Tensor, stats: Tensor, N: number, cliprange: number, imitationWeight: number): void {
    this.lossDispatch('rlmecLoss', 'rlmec', [logprobs, refLogprobs, rewards, imitation, dLogprobs, stats], [N, 0, 0, 0, cliprange, imitationWeight]);
  }

  // ---- RLP-UML (kernels/losses/gaussian_reparameterize.wgsl, mib.wgsl) ------------------

  protected runGaussianReparameterize(mu: Tensor, rawSigma: Tensor, eps: Tensor, z: Tensor, sigma: Tensor, n: number): void {
    this.reparameterize('gaussianReparameterize', 'forward', [mu, rawSigma, eps, z, sigma, null, null, null, null], n, false);
  }

  protected runGaussianReparameterizeBackward(dZ: Tensor, dSigma: Tensor, eps: Tensor, rawSigma: Tensor, dMu: Tensor, dRawSigma: Tensor, n: number, accumulate: boolean): void {
    this.reparameterize('gaussianReparameterizeBackward', 'backward', [null, rawSigma, eps, null, null, dZ, dSigma, dMu, dRawSigma], n, accumulate);
  }

  private reparameterize(op: string, entry: string, storage: (Tensor | null)[], n: number, accumulate: boolean): void {
    const [x, y] = grid2d(Math.ceil(n / REPARAM_WG));
    this.dispatch(op, 'gaussian_reparameterize', entry, storage, packParams([n, x * REPARAM_WG, Number(accumulate)]), [x, y, 1]);
  }

  /** Four dispatches (see mib.wgsl): the two densities, the latents, then the critic, which completes the stats. */
  protected runMIBLoss(i: MIBLossInputs, o: MIBLossOutputs, plan: MIBLossPlan): void {
    const params = (second: number) => packParams([plan.B, plan.K, second, 0, plan.beta, plan.weight], [4, 5]);
    const run = (entry: string, storage: (Tensor | null)[], second = 0) => this.dispatch('mibLoss', 'mib', entry, storage, params(second), [1, 1, 1]);
    const _ = null;
    run('mib_density', [i.z1, i.z2, i.mu1, i.sigma1, _, _, o.dMu1, o.dSigma1, _, _, _, _, o.stats]);
    run('mib_density', [i.z2, i.z1, i.mu2, i.sigma2, _, _, o.dMu2, o.dSigma2, _, _, _, _, o.stats], 1);
    run('mib_latent', [i.z1, i.z2, i.mu1, i.sigma1, i.mu2, i.sigma2, o.dZ1, o.dZ2, _, _, _, _, _]);
    run('mib_critic', [_, _, _, _, _, _, _, _, i.tPos, i.tNeg, o.dTPos, o.dTNeg, o.stats]);
  }

  /** One workgroup of a loss kernel; params are four u32 then f32s (Params in each kernel). */
  private lossDispatch(op: string, kernel: KernelFile, storage: Tensor[], params: number[]): void {
    const floats = params.map((_, i) => i).filter((i) => i >= 4);
    this.dispatch(op, kernel, kernel, storage, packParams(params, floats), [1, 1, 1]);
  }

  protected runAdamW(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: AdamWStep): void {
    const clip = !!step.gradSumSquares && (step.maxGradNorm ?? 0) > 0;
    const n = param.size;
    const per = FLAT_WG * FLAT_PER;
    const [x, y] = grid2d(Math.ceil(n / per));
    // Bias corrections and 1 − β in float64 on the host, rounded once to f32.
    const params = packParams(
      [n, x * FLAT_WG, Number(clip), 0, step.lr, step.beta1, step.beta2, step.eps,
        step.weightDecay, 1 - step.beta1 ** step.step, 1 - step.beta2 ** step.step, step.maxGradNorm ?? 0,
        1 - step.beta1, 1 - step.beta2],
      [4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
    );
    this.dispatch('adamw', 'adamw', 'main', [param, grad, m, v, clip ? step.gradSumSquares! : this.placeholder], params, [x, y, 1]);
  }

  async flush(): Promise<void> {
    this.alive();
    this.submit();
    await holdOpen(this.device.queue.onSubmittedWorkDone());
    this.alive();
    await this.rethrow();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pending = [];
    this.scratch = [];
    this.device.destroy();
    this.gpu = undefined;
  }

  /** Whether a row op over rows of `width` values runs one invocation per row (see rowKernels). */
  private rowPerInvocation(width: number): boolean {
    return this.rowKernels === 'invocation' && width <= ROW_LOOP_MAX;
  }

  /**
   * Frees a scratch tensor once every command recorded so far has been submitted (the next
   * submit): call it after the op's last dispatch that uses it.
   */
  private retire(t: Tensor): void {
    this.releaseBuffer(buf(t));
  }

  /**
   * Destroys a tensor's buffer, or, while recorded commands that may use it wait for their
   * submit, right after that submit: a buffer destroyed before then fails the whole submit
   * ("used in submit while destroyed"). Destroying after a submit is safe: the buffer lives
   * until the submitted work has run. Internal: GPUTensor.release() calls it.
   */
  releaseBuffer(buffer: GPUBuffer): void {
    if (this.disposed) return;
    if (this.pending.length === 0) buffer.destroy();
    else this.scratch.push(buffer);
  }

  /** An elementwise kernel that handles FLAT_PER values (a vec4) per invocation of FLAT_WG. */
  private flat(op: string, file: KernelFile, entry: string, storage: (Tensor | null)[], n: number): void {
    const per = FLAT_WG * FLAT_PER;
    const [x, y] = grid2d(Math.ceil(n / per));
    this.dispatch(op, file, entry, storage, packParams([n, x * FLAT_WG]), [x, y, 1]);
  }

  private heads(op: string, entry: string, src: Tensor, dst: Tensor, g: HeadsGeometry): void {
    const [x, y] = grid2d(g.B * g.T);
    this.dispatch(op, 'attention', entry, [src, dst, null, null, null, null, null, null], packParams([g.B, g.T, g.H, g.D, g.W, g.col, x, g.t0, g.S]), [x, y, 1]);
  }

  /** Records a command buffer of copies or clears, error-scoped like a dispatch. */
  private encode(op: string, record: (encoder: GPUCommandEncoder) => void): void {
    this.alive();
    this.scoped(op, () => {
      const encoder = this.device.createCommandEncoder({ label: op });
      record(encoder);
      this.pending.push(encoder.finish());
    });
  }

  /** Runs `body` inside validation and out-of-memory error scopes, checked at the next flush/read. */
  private scoped(op: string, body: () => void): void {
    const device = this.device;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let validation: Promise<GPUError | null>;
    let oom: Promise<GPUError | null>;
    try {
      body();
    } finally {
      // Popped even when body throws, so the scopes never outlive the op.
      validation = device.popErrorScope();
      oom = device.popErrorScope();
    }
    this.errors.push(
      Promise.all([validation, oom]).then(([v, m]) =>
        v ? new GPUOpError(op, 'validation', v.message) : m ? new GPUOpError(op, 'out-of-memory', m.message) : undefined,
      ),
    );
    if (this.pending.length >= MAX_PENDING) this.submit();
  }

  private elementwise(entry: 'add' | 'add_into' | 'scale' | 'scale_into', a: Tensor | null, b: Tensor | null, s: number, out: Tensor): void {
    const groups = Math.ceil(out.size / 256);
    const [x, y] = grid2d(groups);
    this.dispatch(entry, 'elementwise', entry, [a, b, out], packParams([out.size, x * 256, s], [2]), [x, y, 1]);
  }

  /**
   * Records one dispatch in its own command buffer, inside validation and out-of-memory
   * error scopes whose results are checked at the next flush/read.
   * Bindings are the storage buffers in binding order (null: a binding this entry point
   * does not use, so 'auto' layout leaves it out); the uniform comes last.
   */
  private dispatch(
    op: string, file: KernelFile, entry: string, storage: (Tensor | GPUBuffer | null)[], params: ArrayBuffer,
    grid: [number, number, number], constants: Record<string, number> = {},
  ): void {
    this.alive();
    if (this.uniforms.full) this.submit();
    this.scoped(op, () => {
      const device = this.device;
      const pipeline = this.pipelines.get(file, entry, constants);
      const entries: GPUBindGroupEntry[] = [];
      storage.forEach((s, binding) => {
        if (s) entries.push({ binding, resource: s instanceof Tensor ? this.binding(s) : { buffer: s } });
      });
      entries.push({ binding: storage.length, resource: this.uniforms.push(params) });
      const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      const encoder = device.createCommandEncoder({ label: op });
      const pass = encoder.beginComputePass({ label: op });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      if (grid[0] > 0 && grid[1] > 0 && grid[2] > 0) pass.dispatchWorkgroups(...grid);
      pass.end();
      this.pending.push(encoder.finish());
    });
  }

  /**
   * A tensor's range of its buffer. Views bind { offset, size } of the root's buffer; an
   * empty view at the very end of its buffer has no bytes to bind, so the placeholder
   * (never read: the op has no elements) stands in.
   */
  private binding(t: Tensor): GPUBufferBinding {
    const g = t as GPUTensor;
    const size = g.bindBytes;
    if (size <= 0) return { buffer: this.placeholder };
    return { buffer: g.buffer, offset: g.byteOffset, size };
  }

  private submit(): void {
    if (this.pending.length === 0) return;
    this.device.queue.submit(this.pending);
    this.pending = [];
    // Destroying after submit is safe: the buffers live until the submitted work has run.
    for (const b of this.scratch) b.destroy();
    this.scratch = [];
    this.uniforms.recycle();
  }

  private async rethrow(): Promise<void> {
    const errors = this.errors;
    this.errors = [];
    for (const e of await Promise.all(errors)) if (e) throw e;
  }

  private alive(): void {
    if (this.lost) throw this.lost;
    if (this.disposed) throw new DeviceLostError('destroyed', 'the backend was disposed');
  }
}

const buf = (t: Tensor): GPUBuffer => (t as GPUTensor).buffer;

/**
 * Awaits a device promise with a timer pending. Dawn's promises do not keep Node's event loop
 * alive: a program whose only pending work is a GPU readback would otherwise exit silently.
 */
async function holdOpen<T>(promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1 << 30);
  try {
    return await promise;
  } finally {
    clearInterval(timer);
  }
}

/** [start, count] of consecutive chunks of at most `size` covering 0..n (one empty chunk when n is 0). */
function chunks(n: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let start = 0; start < n || out.length === 0; start += size) out.push([start, Math.min(size, n - start)]);
  return out;
}

/** Invocations per workgroup of random.wgsl (one value each). */
const RANDOM_WG = 64;
/** Invocations per workgroup of gaussian_reparameterize.wgsl (one value each). */
const REPARAM_WG = 64;

/**
 * Invocations per row of sampling.wgsl and logprobs.wgsl: about 16 values each per pass, 32 to
 * 256. On llvmpipe, 20000 rows of 16 logits sampled ~7× faster with 32 than with 256 (each
 * barrier switches through every invocation), while 50257-wide rows want 256.
 */
function vocabRowWorkgroup(V: number): number {
  return Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(Math.ceil(V / 16)))));
}

/** Spreads n workgroups over x (≤ 65535) and y. */
function grid2d(n: number): [number, number] {
  if (n <= MAX_GRID) return [n, 1];
  const y = Math.ceil(n / MAX_GRID);
  return [Math.ceil(n / y), y];
}
