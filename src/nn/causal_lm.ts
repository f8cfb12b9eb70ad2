import { VIEW_ALIGN, type Backend, type Tensor } from '../backend/backend.js';
import type { DType } from '../backend/dtype.js';
import { DTypeError, ShapeError, TensorStateError } from '../errors.js';
import { columnSum, matmul, scale, sum } from '../ops/core.js';
import { embedding, gatherRows, scatterAddRows, softmaxCrossEntropy } from '../ops/layers.js';
import { tokenLogprobs } from '../ops/sampling.js';
import { Activations } from './activations.js';
import { architectureOf, type Architecture, type ModelConfig } from './architecture.js';
import { attentionForward } from './attention.js';
import { prepareBatch, type LossReduction, type PreparedBatch, type TokenBatch } from './batch.js';
import { BatchTensors } from './batch_tensors.js';
import { blockBackward, blockForward, type BlockContext } from './decoder_block.js';
import { decoderRefs, type DecoderRefs } from './decoder_tensors.js';
import { parameterLayout, type HeadOptions, type ParamLayout, type ParamSpec } from './layout.js';
import { norm, normBackward, type Gradients, type Weights } from './linear.js';
import { checkLogitsChunking, logitChunks, logitsChunkRows, type LogitChunk, type LogitsChunking } from './logit_chunks.js';
import { LoraAdapter } from './lora/lora_adapter.js';
import { loraConfig, type LoraConfig } from './lora/lora_config.js';
import { SharedWeights } from './shared_weights.js';
import { initialValues, ParameterStore } from './parameter_store.js';
import { RotaryCache } from './rotary_cache.js';

export interface ModelOptions {
  heads?: HeadOptions;
  /** generation_config.json's keys: the defaults generate() starts from (loadModel reads them from the folder). */
  generationConfig?: Record<string, unknown>;
  /** Seed of the initial weights (default 0). */
  seed?: number;
  /**
   * How the weight matrices and embeddings are stored (default 'f32'). 'bf16' or 'f16' halve
   * their memory (rounded to nearest even on loading; the kernels read them directly and
   * compute in f32; norms and biases stay f32) and make the model frozen: forward, losses,
   * scores and generation run, backward does not.
   */
  dtype?: DType;
  /** See CausalLM.gradientCheckpointing (default false). */
  gradientCheckpointing?: boolean;
  /** See CausalLM.logitsChunkRows (default 'auto'). */
  logitsChunkRows?: LogitsChunking;
}

export interface ForwardOptions {
  /**
   * The LM logits. Unset (the default): the LM head is ready for lmLoss() and tokenLogprobs(),
   * in row chunks when the model's logitsChunkRows says so (then `logits` is not readable);
   * true: the full [B·T, V] logits, whatever logitsChunkRows says; false: no LM head (reward
   * and value models).
   */
  logits?: boolean;
  /** How lmLoss combines token losses (default 'mean' over target tokens). */
  reduction?: LossReduction;
}

/** Upstream gradients for backward(): any combination of the heads' outputs. */
export interface BackwardInput {
  /** Backpropagate lmLoss() (its dlogits). */
  lm?: boolean;
  /** ∂L/∂scores, [B, 1] (the scalar head's output). */
  dScores?: Tensor;
  /** ∂L/∂lastHidden(), [B, C]: a loss on the hidden states the scalar head reads (RLP-UML's bottleneck). */
  dLastHidden?: Tensor;
  /** ∂L/∂values, [B·T, 1] (the value head's output). */
  dValues?: Tensor;
  /**
   * ∂L/∂log p(target) [B·T] for a loss of the per-token log-probs of the last forward's
   * targets (the policy-gradient losses): 0 where a position has no target. Not with `lm`.
   */
  dLogprobs?: Tensor;
  /** The logit scale (1/temperature) those log-probs were taken at (default 1). */
  logprobScale?: number;
}

/** Per-token log-probs and entropies [B·T] of the last forward (device tensors the model owns). */
export interface TokenLogprobs {
  logprobs: Tensor;
  entropies: Tensor;
}

/**
 * A decoder-only language model of any supported family (GPT-2, Llama, Qwen2, Qwen3) on one
 * backend: one parameter tensor (Hugging Face names and layouts, see decoder_tensors.ts; on
 * WebGPU stored in several device buffers when larger than one, cut only between parameters),
 * one gradient tensor of the same layout, and activations allocated once
 * per batch shape. forward → lmLoss / scores / values → backward are composed from ops with
 * no readback; only what the caller reads comes back to the host. The family is a small
 * description (Architecture) that one driver follows.
 */
export class CausalLM {
  readonly backend: Backend;
  /** config.json's keys, as given or loaded (saved back as they are). */
  readonly config: ModelConfig;
  readonly arch: Architecture;
  readonly refs: DecoderRefs;
  /** generation_config.json's keys, as loaded (generate() starts from them; saveModel writes them back). */
  generationConfig: Record<string, unknown> | undefined;
  /** The base weights: this model's own, or shared with the other roles adapted from one base. */
  readonly #base: SharedWeights;
  readonly #adapter: LoraAdapter | undefined;
  #frozen = false;
  #disposed = false;
  #acts: Activations | undefined;
  #batch: BatchTensors | undefined;
  #forwardOptions: ForwardOptions = {};
  #ran: 'none' | 'forward' | 'loss' = 'none';
  #checkpointing = false;
  #chunking: LogitsChunking = 'auto';
  /** Rows per LM-head chunk of the last forward; undefined: its logits are whole (or absent). */
  #chunk: number | undefined;
  #losses: Tensor | undefined;
  #dlogits: Tensor | undefined;
  #loss: Tensor | undefined;
  #logprobs: TokenLogprobs | undefined;
  #negatedDLogprobs: Tensor | undefined;
  #rotary: RotaryCache | undefined;
  /** The last forward's block context (its rotary positions), for its backward. */
  #context: BlockContext | undefined;
  readonly #w: Weights = (name) => this.param(name);
  readonly #g: Gradients = (name) => this.#gradient(name);
  /** Where a frozen base's norm gradients go when an adapter trains (the norm kernels always write them). */
  #discard: Tensor | undefined;
  readonly #discardViews = new Map<string, Tensor>();

  private constructor(backend: Backend, config: ModelConfig, arch: Architecture, base: SharedWeights, adapter: LoraAdapter | undefined, generationConfig?: Record<string, unknown>) {
    this.backend = backend;
    this.generationConfig = generationConfig;
    this.config = config;
    this.arch = arch;
    this.refs = decoderRefs(arch);
    this.#base = base.share();
    this.#adapter = adapter;
    // 16-bit weights are read-only: such a model is frozen from the start, unless it trains an adapter on them.
    this.#frozen = !adapter && base.store.frozen;
    if (arch.rotary) this.#rotary = new RotaryCache(backend, arch);
  }

  /**
   * A freshly initialised model of a config (GPT-2's keys or a Llama-family config.json's).
   * Init follows the family: GPT-2's N(0, 0.02) with residual projections scaled by 1/√(2L);
   * the Llama family's N(0, 0.02); norms at 1, biases and heads at 0.
   */
  static create(backend: Backend, config: ModelConfig, options: ModelOptions = {}): CausalLM {
    return CausalLM.fromWeights(backend, config, () => undefined, options);
  }

  /**
   * A model from named weights. `get` returns each parameter's values (already checked to
   * have spec.size elements) or undefined to keep its initial value (a new head).
   */
  static fromWeights(backend: Backend, config: ModelConfig, get: (spec: ParamSpec) => Float32Array | undefined, options: ModelOptions = {}): CausalLM {
    const arch = architectureOf(config);
    const dtype = options.dtype ?? 'f32';
    const layout = parameterLayout(arch, options.heads, dtype);
    const host = initialValues(layout, options.seed ?? 0, get);
    const base = new SharedWeights(ParameterStore.upload(backend, layout, host, dtype));
    const model = new CausalLM(backend, config, arch, base, undefined, options.generationConfig);
    model.gradientCheckpointing = options.gradientCheckpointing ?? false;
    model.logitsChunkRows = options.logitsChunkRows ?? 'auto';
    return model;
  }

  /**
   * Gradient checkpointing (TrainingArguments' gradient_checkpointing): the forward keeps only
   * each block's input, and backward recomputes a block's activations from it, into one set
   * that all layers share, just before that block's backward. Activation memory of one block
   * instead of L, for one more forward of every block but the last per backward; gradients as
   * without it (LoRA's dropout masks are drawn again from the same counters). Takes effect at
   * the next forward.
   */
  get gradientCheckpointing(): boolean {
    return this.#checkpointing;
  }

  set gradientCheckpointing(on: boolean) {
    if (on === this.#checkpointing) return;
    this.#checkpointing = on;
    this.#releaseActivations();
  }

  /**
   * Rows of LM logits computed at once. Below the batch's B·T, lmLoss(), tokenLogprobs() and
   * their backward run the LM head chunk by chunk (the backward recomputes each chunk's logits:
   * one more head matmul), so a step holds chunk × V logits and gradients instead of B·T × V,
   * and `logits` is not readable unless forward() is asked for them ({ logits: true }). A number
   * of rows (rounded down to a multiple of 64, at least 64), Infinity (never chunk), or 'auto'
   * (the default): whole up to AUTO_LOGITS_BYTES (64 MiB) of logits, else chunks that fit in it.
   * Takes effect at the next forward.
   */
  get logitsChunkRows(): LogitsChunking {
    return this.#chunking;
  }

  set logitsChunkRows(setting: LogitsChunking) {
    checkLogitsChunking(setting);
    if (setting === this.#chunking) return;
    this.#chunking = setting;
    this.#releaseActivations();
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  get heads(): HeadOptions {
    const has = (name: string) => this.#base.store.layout.byName.has(name) || (this.#adapter?.store.layout.byName.has(name) ?? false);
    return { score: has('score.weight'), value: has('v_head.summary.weight') };
  }

  /** The LoRA adapter this model trains instead of its base weights (withAdapter), if any. */
  get adapter(): LoraAdapter | undefined {
    return this.#adapter;
  }

  /**
   * What training updates: the whole model, or with an adapter the adapter's tensors (and the
   * heads and modules it trains in full). params, grads, layout, readParameters and
   * readGradients are this store's: AdamW, checkpoints and gradient files see it alone.
   */
  get #trainable(): ParameterStore {
    return this.#adapter?.store ?? this.#base.store;
  }

  /** The trained parameters in one buffer (the whole model's, or the adapter's), every tensor of `layout` in it. */
  get params(): Tensor {
    return this.#trainable.params;
  }

  get layout(): ParamLayout {
    return this.#trainable.layout;
  }

  /** The base weights' layout: the whole model's (the same as `layout` without an adapter). */
  get baseLayout(): ParamLayout {
    return this.#base.store.layout;
  }

  /** The gradient buffer (same layout as params); allocated on first use. */
  get grads(): Tensor {
    this.#checkTrainable();
    return this.#trainable.grads;
  }

  /** A view of one parameter by name: the adapter's when it has the name (its heads, modules_to_save, lora_A/B), else the base's. */
  param(name: string): Tensor {
    const adapter = this.#adapter?.store;
    return adapter?.layout.byName.has(name) ? adapter.param(name) : this.#base.store.param(name);
  }

  /** A view of one trained parameter's gradient. */
  grad(name: string): Tensor {
    this.#checkTrainable();
    if (this.#adapter && !this.#adapter.store.layout.byName.has(name) && this.#base.store.layout.byName.has(name)) {
      throw new TensorStateError(`CausalLM: ${name} is a frozen base weight of this adapted model; only the adapter's tensors have gradients (model.layout lists them)`);
    }
    return this.#trainable.grad(name);
  }

  /** Stops gradient tracking for good and frees the gradient buffer (e.g. a reference model). */
  freeze(): this {
    this.#frozen = true;
    this.#trainable.releaseGrads();
    // The next forward allocates a frozen model's lean activations (one block's, no backward buffers).
    this.#releaseActivations();
    return this;
  }

  /**
   * A new, trainable model with a copy of these parameters (on the device). An adapted model's
   * copy shares its base and copies the adapter: a reference or another role costs an adapter,
   * not a model.
   */
  clone(): CausalLM {
    if (this.#adapter) return this.#view(this.#adapter.clone());
    const store = this.#base.store;
    if (store.frozen) throw new DTypeError(`CausalLM.clone: this model's weights are stored in ${store.dtype}; load it again with dtype 'f32' for a trainable copy, or train an adapter on it (withAdapter)`);
    const layout = this.layout;
    const params = this.backend.zeros([layout.total], layout);
    this.backend.copy(this.params, params);
    return this.#withSettings(new CausalLM(this.backend, this.config, this.arch, new SharedWeights(new ParameterStore(this.backend, layout, params)), undefined, this.generationConfig));
  }

  /**
   * A new, trainable model with this one's weights and the given heads: heads this model lacks
   * start at zero (a reward model from an SFT model; a value model from a reward model). An
   * adapted model's shares the base; the heads join its adapter's copy.
   */
  async withHeads(heads: HeadOptions): Promise<CausalLM> {
    if (this.#adapter) return this.#view(await this.#adapter.copy({ heads, hiddenSize: this.arch.hiddenSize, initial: await this.#baseHeads() }));
    const weights = await this.readParameters();
    const settings = { gradientCheckpointing: this.gradientCheckpointing, logitsChunkRows: this.logitsChunkRows };
    return CausalLM.fromWeights(this.backend, this.config, (s) => weights.get(s.name), { heads, ...settings, ...(this.generationConfig ? { generationConfig: this.generationConfig } : {}) });
  }

  /**
   * A new model that shares this one's weights, frozen, and trains a new LoRA adapter on
   * them (PEFT's LoraConfig keys). Any number of roles can adapt one base: each holds its
   * adapter, its heads and its activations. `heads` the adapter trains start from the base's
   * heads, or zero. A model that is itself adapted has no further adapter: merge it first.
   */
  async withAdapter(config: Partial<LoraConfig> | Record<string, unknown> = {}, options: { heads?: HeadOptions; seed?: number; values?: ReadonlyMap<string, Float32Array> } = {}): Promise<CausalLM> {
    if (this.#adapter) throw new TensorStateError('CausalLM: this model already has an adapter; merge it (await model.merged()) and adapt the merged model');
    const lora = loraConfig(config);
    const shapes = new Map(this.#base.store.layout.specs.map((s) => [s.name, s.shape]));
    const needsBase = (lora.modules_to_save?.length ?? 0) > 0 || options.heads?.score || options.heads?.value;
    const base = needsBase && !options.values ? await this.#base.store.readParameters() : undefined;
    const adapter = LoraAdapter.create(this.backend, this.arch, this.refs, lora, shapes, {
      ...options, ...(base ? { initial: (name: string) => base.get(name) } : {}),
    });
    return this.#view(adapter);
  }

  /** Turns the adapter off (the model computes as its base: a reference model for free) or back on. */
  setAdapterEnabled(enabled: boolean): void {
    if (!this.#adapter) throw new TensorStateError('CausalLM: this model has no adapter to enable or disable');
    this.#adapter.enabled = enabled;
  }

  /**
   * A new, standalone f32 model: the base with the adapter's update s·B·A added into each
   * adapted weight and its fully trained tensors in place (PEFT's merge_and_unload). The base
   * and the adapter are left as they are.
   */
  async merged(): Promise<CausalLM> {
    const adapter = this.#adapter;
    if (!adapter) return this.clone();
    const [base, own] = [await this.#base.store.readParameters(), await adapter.values()];
    const heads = this.heads;
    const model = CausalLM.fromWeights(this.backend, this.config, (s) => own.get(s.name) ?? base.get(s.name), { heads, ...(this.generationConfig ? { generationConfig: this.generationConfig } : {}) });
    for (const pair of adapter.pairs.values()) {
      const [A, B, W] = [adapter.store.param(pair.a), adapter.store.param(pair.b), model.param(pair.ref.weight)];
      // nn.Linear keeps W [out, in]: W += s·B·A. Conv1D keeps it [in, out]: W += s·Aᵀ·Bᵀ.
      if (pair.ref.inputMajor) matmul(A, B, { transA: true, transB: true, alpha: adapter.scaling, out: W, accumulate: true });
      else matmul(B, A, { alpha: adapter.scaling, out: W, accumulate: true });
    }
    return model;
  }

  zeroGrad(): void {
    this.backend.zero(this.grads);
  }

  /** Every trained parameter by name (the whole model's, or the adapter's), read back to the host. */
  async readParameters(): Promise<Map<string, Float32Array>> {
    return this.#trainable.readParameters();
  }

  /** Every base weight by name (the whole model's without an adapter), read back to the host. */
  async readBaseParameters(): Promise<Map<string, Float32Array>> {
    return this.#base.store.readParameters();
  }

  async readGradients(): Promise<Map<string, Float32Array>> {
    this.#checkTrainable();
    return this.#trainable.readGradients();
  }

  /** Runs the transformer on a batch up to the final norm (and the LM logits unless told not to). */
  forward(batch: TokenBatch | PreparedBatch, options: ForwardOptions = {}): PreparedBatch {
    const p = 'keyMask' in batch ? batch : prepareBatch(batch, this.arch, options.reduction);
    const acts = this.#activations(p.B, p.T);
    const bt = this.#batch!;
    bt.upload(p);
    this.#forwardOptions = options;
    const { refs, arch } = this;
    const w = this.#w;
    const x0 = acts.blocks[0]?.input ?? acts.out;
    if (refs.positions) embedding(bt.ids, bt.pos, w(refs.embed), w(refs.positions), x0);
    else gatherRows(w(refs.embed), bt.ids, x0);
    this.#adapter?.beginForward(!this.#frozen);
    const c = (this.#context = this.#blockContext(p.pos));
    for (let l = 0; l < arch.layers; l++) this.#blockForward(c, l);
    norm(w, acts.out, refs.finalNorm, acts.lnf, acts.lnfStats, arch.normEps);
    const N = p.B * p.T;
    const chunk = logitsChunkRows(options.logits ? Infinity : this.#chunking, N, arch.vocabSize);
    this.#chunk = options.logits !== false && chunk < N ? chunk : undefined;
    if (options.logits !== false && this.#chunk === undefined) {
      acts.logits = acts.lazy(acts.logits, [N, arch.vocabSize]);
      matmul(acts.lnf, w(refs.lmHead), { transB: true, out: acts.logits });
    }
    this.#ran = 'forward';
    return p;
  }

  /** The LM logits [B·T, V] of the last forward. */
  get logits(): Tensor {
    if (this.#chunk !== undefined && this.#ran !== 'none') {
      throw new TensorStateError(
        `CausalLM: the last forward left the LM head to lmLoss() and tokenLogprobs(), which run it in chunks of ${this.#chunk} rows (logitsChunkRows ${this.#chunking}): there are no full logits to read; ` +
          'run forward(batch, { logits: true }) for the full [B·T, V] logits',
      );
    }
    const logits = this.#acts?.logits;
    if (!logits || this.#ran === 'none' || this.#forwardOptions.logits === false) throw new TensorStateError(NO_LOGITS);
    return logits;
  }

  /** Final hidden states [B·T, C] (after the final norm) of the last forward. */
  get hidden(): Tensor {
    if (!this.#acts || this.#ran === 'none') throw new TensorStateError('CausalLM: run forward() first');
    return this.#acts.lnf;
  }

  /**
   * Cross-entropy of the last forward's logits against its targets, combined as the batch
   * asked ('mean' over target tokens by default). Returns the loss [1] on the device; per-token
   * losses are in `tokenLosses`. Also prepares dlogits for backward({ lm: true }).
   */
  lmLoss(): Tensor {
    const be = this.backend;
    const acts = this.#needLMHead();
    const bt = this.#batch!;
    const losses = this.#tokenLossBuffer();
    if (this.#chunk !== undefined) {
      // dlogits are recomputed chunk by chunk in backward.
      for (const c of this.#logitChunks(false)) softmaxCrossEntropy(c.logits, c.rows(bt.targets), c.rows(bt.weights), c.rows(losses));
    } else {
      const logits = this.logits;
      if (!this.#frozen) this.#dlogits = acts.logitsGrad ??= acts.lazy(undefined, logits.shape as number[]);
      softmaxCrossEntropy(logits, bt.targets, bt.weights, losses, this.#frozen ? undefined : this.#dlogits);
    }
    this.#loss ??= be.zeros([1]);
    sum(losses, { out: this.#loss });
    this.#ran = 'loss';
    return this.#loss;
  }

  /** Per-token losses [B·T] (weighted as the loss reduction says) of the last lmLoss(). */
  get tokenLosses(): Tensor {
    if (!this.#losses || this.#ran !== 'loss') throw new TensorStateError('CausalLM: run lmLoss() first');
    return this.#losses;
  }

  /**
   * log p(target) and the entropy of softmax(scale·logits) at every position of the last
   * forward ([B·T] each; scale is 1/temperature, default 1). A position without a target
   * gets a NaN log-prob: mask it out (the loss ops read only masked positions).
   */
  tokenLogprobs(scale = 1): TokenLogprobs {
    const acts = this.#needLMHead();
    const N = acts.B * acts.T;
    if (!this.#logprobs || this.#logprobs.logprobs.size !== N) {
      this.#disposeLogprobs();
      this.#logprobs = { logprobs: this.backend.zeros([N]), entropies: this.backend.zeros([N]) };
    }
    const { logprobs, entropies } = this.#logprobs;
    const targets = this.#batch!.targets;
    if (this.#chunk === undefined) tokenLogprobs(this.logits, targets, logprobs, entropies, { scale });
    else for (const c of this.#logitChunks(false)) tokenLogprobs(c.logits, c.rows(targets), c.rows(logprobs), c.rows(entropies), { scale });
    return this.#logprobs;
  }

  /**
   * The final hidden states (after the final norm) at each sequence's last real token: [B, C], what the
   * scalar head reads. A device tensor the model owns, rewritten by the next call.
   */
  lastHidden(): Tensor {
    const acts = this.#needForward();
    acts.hLast = acts.lazy(acts.hLast, [acts.B, this.arch.hiddenSize]);
    gatherRows(acts.lnf, this.#batch!.lastRows, acts.hLast);
    return acts.hLast;
  }

  /** The scalar head r = w·h + b at each sequence's last real token: [B, 1]. */
  scores(): Tensor {
    const acts = this.#needForward();
    const hLast = this.lastHidden();
    acts.scoreOut = acts.lazy(acts.scoreOut, [acts.B, 1]);
    // A SEQ_CLS adapter's score head has no bias, as transformers' classifier.
    const bias = this.#hasTensor('score.bias') ? { bias: this.param('score.bias') } : {};
    matmul(hLast, this.#headParam('score.weight'), { transB: true, ...bias, out: acts.scoreOut });
    return acts.scoreOut;
  }

  /** The value head V_t = w·h_t + b for every token: [B·T, 1]. */
  values(): Tensor {
    const acts = this.#needForward();
    acts.valueOut = acts.lazy(acts.valueOut, [acts.B * acts.T, 1]);
    matmul(acts.lnf, this.#headParam('v_head.summary.weight'), { transB: true, bias: this.param('v_head.summary.bias'), out: acts.valueOut });
    return acts.valueOut;
  }

  /** Adds the gradients of the given head outputs into `grads` (call zeroGrad() first for a fresh step). */
  backward(input: BackwardInput = { lm: true }): void {
    const be = this.backend;
    if (this.#frozen) throw new TensorStateError('CausalLM: this model is frozen (a reference model); backward() needs a trainable model (clone() one)');
    const acts = this.#needForward();
    const bt = this.#batch!;
    const g = this.#g;
    const w = this.#w;
    // ∂L/∂(final norm output), summed over the heads.
    be.zero(acts.grads.dLn);
    if (input.lm && input.dLogprobs) throw new TensorStateError('CausalLM: backward() takes lm or dLogprobs, not both; fold one loss into the other');
    if (input.lm) {
      if (this.#ran !== 'loss' || (!this.#dlogits && this.#chunk === undefined)) throw new TensorStateError('CausalLM: backward({ lm: true }) needs lmLoss() after forward()');
      if (this.#chunk === undefined) this.#backwardLogits(this.#dlogits!);
      else this.#backwardLogitChunks(bt.weights, 1);
    }
    if (input.dLogprobs) this.#backwardLogprobs(input.dLogprobs, input.logprobScale ?? 1);
    if (input.dScores) {
      const dh = (acts.dhLast = acts.lazy(acts.dhLast, [acts.B, this.arch.hiddenSize]));
      if (!acts.hLast) throw new TensorStateError('CausalLM: backward({ dScores }) needs scores() after forward()');
      matmul(input.dScores, acts.hLast, { transA: true, out: this.grad('score.weight'), accumulate: true });
      if (this.#hasTensor('score.bias')) columnSum(input.dScores, this.grad('score.bias'));
      matmul(input.dScores, this.#headParam('score.weight'), { out: dh });
      scatterAddRows(dh, bt.lastIndex, acts.grads.dLn);
    }
    if (input.dLastHidden) {
      const C = this.arch.hiddenSize;
      const d = input.dLastHidden;
      if (d.shape.length !== 2 || d.shape[0] !== acts.B || d.shape[1] !== C) {
        throw new ShapeError(`CausalLM: dLastHidden has shape [${d.shape.join(', ')}], expected [${acts.B}, ${C}] (one row per sequence of the last forward)`);
      }
      scatterAddRows(d, bt.lastIndex, acts.grads.dLn);
    }
    if (input.dValues) {
      matmul(input.dValues, acts.lnf, { transA: true, out: this.grad('v_head.summary.weight'), accumulate: true });
      columnSum(input.dValues, this.grad('v_head.summary.bias'));
      matmul(input.dValues, this.#headParam('v_head.summary.weight'), { out: acts.grads.dLn, accumulate: true });
    }
    const { refs } = this;
    const dres = acts.grads.dResidual;
    be.zero(dres);
    normBackward(w, this.#g, acts.grads.dLn, acts.out, refs.finalNorm, acts.lnfStats, dres);
    const c = this.#context!;
    for (let l = this.arch.layers - 1; l >= 0; l--) {
      if (acts.checkpointed && acts.resident !== l) this.#blockForward(c, l);
      blockBackward(c, this.#g, refs.blocks[l]!, acts.blocks[l]!, acts.grads, acts);
    }
    const [dEmbed, dPositions] = [g(refs.embed), refs.positions ? g(refs.positions) : undefined];
    if (dEmbed) scatterAddRows(dres, bt.idIndex, dEmbed);
    if (dPositions) scatterAddRows(dres, bt.posIndex, dPositions);
  }

  /** Device bytes held: parameters, gradients and activations (optimizer state is the optimizer's). */
  get deviceBytes(): number {
    return this.#base.store.bytes + (this.#adapter?.bytes ?? 0) + (this.#losses?.size ?? 0) * 4 + (this.#acts?.bytes ?? 0) + (this.#rotary?.bytes ?? 0);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#disposeLogprobs();
    this.#acts?.dispose();
    this.#batch?.dispose();
    this.#losses?.dispose();
    this.#loss?.dispose();
    this.#rotary?.dispose();
    this.#adapter?.dispose();
    this.#discard?.dispose();
    this.#base.release();
  }

  #activations(B: number, T: number): Activations {
    if (this.#acts && this.#acts.B === B && this.#acts.T === T) return this.#acts;
    this.#releaseActivations();
    // A frozen model never runs backward: its forward needs one block's tensors, not every layer's.
    this.#acts = new Activations(this.backend, this.arch, B, T, { checkpoint: this.#checkpointing || this.#frozen, backward: !this.#frozen });
    this.#batch = new BatchTensors(this.backend, B, T);
    return this.#acts;
  }

  /** Frees the batch-shaped buffers; the next forward allocates them for its shape and settings. */
  #releaseActivations(): void {
    this.#acts?.dispose();
    this.#batch?.dispose();
    this.#losses?.dispose();
    this.#acts = this.#batch = this.#losses = undefined;
    this.#dlogits = undefined;
    this.#negatedDLogprobs = undefined;
    this.#ran = 'none';
  }

  /** Block l's forward from its input (saved by the forward) into its tensors and the next block's input. */
  #blockForward(c: BlockContext, l: number): void {
    const acts = this.#acts!;
    const blk = acts.blocks[l]!;
    // Recomputing under checkpointing writes the next input again, with the same values.
    const next = l + 1 < this.arch.layers ? acts.blocks[l + 1]!.input : acts.out;
    blockForward(c, this.refs.blocks[l]!, blk.input, blk, next, (proj, attnOut) =>
      attentionForward(this.backend, proj, { q: blk.q, k: blk.k, v: blk.v, scores: acts.scores, probs: blk.probs, yHeads: acts.yHeads, out: attnOut }, this.#batch!.keyMask));
    acts.resident = l;
  }

  /**
   * Adds the LM head's share of backward for ∂L/∂logits: into the head's gradient and ∂L/∂(final
   * norm output); `rows` picks a chunk's rows of lnf and that gradient.
   */
  #backwardLogits(dlogits: Tensor, rows: (t: Tensor) => Tensor = (t) => t): void {
    const acts = this.#acts!;
    const head = this.refs.lmHead;
    const dHead = this.#g(head);
    if (dHead) matmul(dlogits, rows(acts.lnf), { transA: true, out: dHead, accumulate: true });
    matmul(dlogits, this.param(head), { out: rows(acts.grads.dLn), accumulate: true });
  }

  /** The LM head's backward chunk by chunk: each chunk's logits again, its dlogits as softmaxCrossEntropy gives them for `weights` and `scale`, then the head's share. */
  #backwardLogitChunks(weights: Tensor, logitScale: number): void {
    const targets = this.#batch!.targets;
    const losses = this.#tokenLossBuffer();
    for (const c of this.#logitChunks(true)) {
      softmaxCrossEntropy(c.logits, c.rows(targets), c.rows(weights), c.rows(losses), c.dlogits, { scale: logitScale });
      this.#backwardLogits(c.dlogits!, c.rows);
    }
  }

  /** The last forward's LM head in chunks (with a dlogits buffer for the backward). */
  #logitChunks(withGrad: boolean): Generator<LogitChunk> {
    const acts = this.#acts!;
    const shape = [this.#chunk!, this.arch.vocabSize];
    acts.chunkLogits = acts.lazy(acts.chunkLogits, shape);
    if (withGrad) acts.chunkLogitsGrad = acts.lazy(acts.chunkLogitsGrad, shape);
    return logitChunks(this.backend, acts.lnf, this.param(this.refs.lmHead), this.#chunk!, { logits: acts.chunkLogits, ...(withGrad ? { dlogits: acts.chunkLogitsGrad } : {}) });
  }

  /** The per-token loss buffer [B·T] (lmLoss's output; the policy gradient's scratch). */
  #tokenLossBuffer(): Tensor {
    const N = this.#acts!.B * this.#acts!.T;
    if (!this.#losses || this.#losses.size !== N) {
      this.#losses?.dispose();
      this.#losses = this.backend.zeros([N]);
    }
    return this.#losses;
  }

  /**
   * A rotary model's cos/sin tables [P, head_dim/2] covering positions 0 … positions − 1,
   * shared by training and the KV-cache decoder (undefined for learned positions). Valid
   * until a call asks for more positions.
   */
  rotaryTables(positions: number): { cos: Tensor; sin: Tensor } | undefined {
    return this.#rotary?.tables(positions);
  }

  /** What a block needs besides its weights: the rotary tables for the batch's positions. */
  #blockContext(hostPositions: Float32Array): BlockContext {
    const tables = this.#batch && this.rotaryTables(maxPosition(hostPositions) + 1);
    const rotary = tables ? { positions: this.#batch!.pos, ...tables } : undefined;
    return { backend: this.backend, arch: this.arch, w: this.#w, rotary, lora: this.#adapter };
  }

  /**
   * The LM head's backward for ∂L/∂log p(target): softmaxCrossEntropy with weights −∂L/∂log p
   * gives exactly dlogits = ∂L/∂log p · scale · (onehot − softmax), and skips rows of weight 0.
   */
  #backwardLogprobs(dLogprobs: Tensor, logitScale: number): void {
    const acts = this.#needLMHead();
    const N = acts.B * acts.T;
    if (dLogprobs.size !== N) throw new ShapeError(`CausalLM: dLogprobs has ${dLogprobs.size} values, the last forward has ${N} positions`);
    const losses = this.#tokenLossBuffer();
    this.#negatedDLogprobs = acts.lazy(this.#negatedDLogprobs, [N]);
    scale(dLogprobs, -1, this.#negatedDLogprobs);
    if (this.#chunk !== undefined) return this.#backwardLogitChunks(this.#negatedDLogprobs, logitScale);
    const logits = this.logits;
    const dlogits = (acts.logitsGrad ??= acts.lazy(undefined, logits.shape as number[]));
    softmaxCrossEntropy(logits, this.#batch!.targets, this.#negatedDLogprobs, losses, dlogits, { scale: logitScale });
    this.#backwardLogits(dlogits);
  }

  #disposeLogprobs(): void {
    this.#logprobs?.logprobs.dispose();
    this.#logprobs?.entropies.dispose();
    this.#logprobs = undefined;
  }

  #hasTensor(name: string): boolean {
    return this.#base.store.layout.byName.has(name) || (this.#adapter?.store.layout.byName.has(name) ?? false);
  }

  /** A model of this config over the same base weights with `adapter` (another role of one base). */
  #view(adapter: LoraAdapter): CausalLM {
    return this.#withSettings(new CausalLM(this.backend, this.config, this.arch, this.#base, adapter, this.generationConfig));
  }

  /** `model` with this model's activation-memory settings. */
  #withSettings(model: CausalLM): CausalLM {
    model.gradientCheckpointing = this.gradientCheckpointing;
    model.logitsChunkRows = this.logitsChunkRows;
    return model;
  }

  /** The base's head values (the start of an adapter's copy of them), by name. */
  async #baseHeads(): Promise<(name: string) => Float32Array | undefined> {
    if (!this.#base.store.layout.byName.has('score.weight') && !this.#base.store.layout.byName.has('v_head.summary.weight')) return () => undefined;
    const base = await this.#base.store.readParameters();
    return (name) => base.get(name);
  }

  /**
   * The gradient a backward adds into for a tensor: the trained store's; for a frozen base
   * tensor of an adapted model none (its matmuls are skipped), or for a norm's vector a scratch
   * tensor (the norm kernels write it; nothing reads it).
   */
  #gradient(name: string): Tensor | undefined {
    const adapter = this.#adapter?.store;
    if (!adapter) return this.grad(name);
    if (adapter.layout.byName.has(name)) return adapter.grad(name);
    const spec = this.#base.store.layout.byName.get(name);
    if (!spec || spec.shape.length !== 1) return undefined;
    // Weight and bias get disjoint halves: a kernel writes both at once. The views are made once.
    let view = this.#discardViews.get(name);
    if (!view) {
      const half = Math.ceil(Math.max(...this.#base.store.layout.specs.filter((s) => s.shape.length === 1).map((s) => s.size)) / VIEW_ALIGN) * VIEW_ALIGN;
      this.#discard ??= this.backend.zeros([2 * half]);
      view = this.backend.view(this.#discard, name.endsWith('.bias') ? half : 0, spec.shape);
      this.#discardViews.set(name, view);
    }
    return view;
  }

  #checkTrainable(): void {
    if (this.#frozen) throw new TensorStateError('CausalLM: this model is frozen (a reference model); it has no gradients');
  }

  #needForward(): Activations {
    if (!this.#acts || this.#ran === 'none') throw new TensorStateError('CausalLM: run forward() first');
    return this.#acts;
  }

  /** The last forward's activations, if it left the LM head ready (whole logits, or chunks). */
  #needLMHead(): Activations {
    const acts = this.#needForward();
    if (this.#chunk === undefined && (!acts.logits || this.#forwardOptions.logits === false)) throw new TensorStateError(NO_LOGITS);
    return acts;
  }

  #headParam(name: string): Tensor {
    if (!this.layout.byName.has(name)) {
      throw new TensorStateError(`CausalLM: this model has no ${name.split('.')[0]} head; create it with heads: { ${name.startsWith('score') ? 'score' : 'value'}: true }`);
    }
    return this.param(name);
  }
}

const NO_LOGITS = 'CausalLM: no logits; run forward() with logits first';

function maxPosition(positions: Float32Array): number {
  let m = 0;
  for (const p of positions) if (p > m) m = p;
  return m;
}
