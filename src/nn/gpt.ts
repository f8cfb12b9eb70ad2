import type { Backend, Tensor } from '../backend/backend.js';
import { ShapeError, TensorStateError } from '../errors.js';
import { gelu, geluBackward } from '../ops/activations.js';
import { columnSum, matmul, scale, sum } from '../ops/core.js';
import { embedding, gatherRows, layerNorm, layerNormBackward, scatterAddRows, softmaxCrossEntropy } from '../ops/layers.js';
import { tokenLogprobs } from '../ops/sampling.js';
import { Activations } from './activations.js';
import { attentionBackward, attentionForward } from './attention.js';
import { prepareBatch, type LossReduction, type PreparedBatch, type TokenBatch } from './batch.js';
import { BatchTensors } from './batch_tensors.js';
import type { GPTConfig } from './config.js';
import { initialise, normalSampler } from './init.js';
import { parameterLayout, type HeadOptions, type ParamLayout, type ParamSpec } from './layout.js';

export interface GPTOptions {
  heads?: HeadOptions;
  /** Seed of the initial weights (default 0). */
  seed?: number;
}

export interface ForwardOptions {
  /** Compute the LM logits (default true). Reward and value models can skip them. */
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
 * A GPT-2 on one backend: one contiguous parameter buffer (Hugging Face names and layouts,
 * see layout.ts), one gradient buffer of the same layout, and activations allocated once per
 * batch shape. forward → lmLoss / scores / values → backward are composed from backend ops
 * with no readback; only what the caller reads comes back to the host.
 */
export class GPT {
  readonly backend: Backend;
  readonly config: GPTConfig;
  readonly layout: ParamLayout;
  readonly params: Tensor;
  #grads: Tensor | undefined;
  #frozen = false;
  #acts: Activations | undefined;
  #batch: BatchTensors | undefined;
  #forwardOptions: ForwardOptions = {};
  #ran: 'none' | 'forward' | 'loss' = 'none';
  readonly #paramViews = new Map<string, Tensor>();
  readonly #gradViews = new Map<string, Tensor>();
  #losses: Tensor | undefined;
  #dlogits: Tensor | undefined;
  #loss: Tensor | undefined;
  #logprobs: TokenLogprobs | undefined;
  #negatedDLogprobs: Tensor | undefined;

  private constructor(backend: Backend, config: GPTConfig, layout: ParamLayout, params: Tensor) {
    this.backend = backend;
    this.config = config;
    this.layout = layout;
    this.params = params;
  }

  /** A freshly initialised model (GPT-2's init: N(0, 0.02), residual projections scaled by 1/√(2L)). */
  static create(backend: Backend, config: GPTConfig, options: GPTOptions = {}): GPT {
    const layout = parameterLayout(config, options.heads);
    const host = new Float32Array(layout.total);
    const normal = normalSampler(options.seed ?? 0);
    for (const spec of layout.specs) initialise(host.subarray(spec.offset, spec.offset + spec.size), spec.init, normal);
    return new GPT(backend, config, layout, backend.tensor(host));
  }

  /**
   * A model from named weights. `get` returns each parameter's values (already checked to
   * have spec.size elements) or undefined to keep its initial value (a new head).
   */
  static fromWeights(backend: Backend, config: GPTConfig, get: (spec: ParamSpec) => Float32Array | undefined, options: GPTOptions = {}): GPT {
    const layout = parameterLayout(config, options.heads);
    const host = new Float32Array(layout.total);
    const normal = normalSampler(options.seed ?? 0);
    for (const spec of layout.specs) {
      const values = get(spec);
      const slot = host.subarray(spec.offset, spec.offset + spec.size);
      if (values) {
        if (values.length !== spec.size) throw new ShapeError(`GPT: ${spec.name} has ${values.length} values, expected ${spec.size}`);
        slot.set(values);
      } else {
        initialise(slot, spec.init, normal);
      }
    }
    return new GPT(backend, config, layout, backend.tensor(host));
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  get heads(): HeadOptions {
    return { score: this.layout.byName.has('score.weight'), value: this.layout.byName.has('v_head.summary.weight') };
  }

  /** The gradient buffer (same layout as params); allocated on first use. */
  get grads(): Tensor {
    if (this.#frozen) throw new TensorStateError('GPT: this model is frozen (a reference model); it has no gradients');
    this.#grads ??= this.backend.zeros([this.layout.total]);
    return this.#grads;
  }

  /** A view of one parameter by its Hugging Face name. */
  param(name: string): Tensor {
    return this.#view(this.#paramViews, this.params, name);
  }

  /** A view of one parameter's gradient. */
  grad(name: string): Tensor {
    return this.#view(this.#gradViews, this.grads, name);
  }

  /** Stops gradient tracking for good and frees the gradient buffer (e.g. a reference model). */
  freeze(): this {
    this.#frozen = true;
    this.#grads?.dispose();
    this.#grads = undefined;
    this.#gradViews.clear();
    this.#dlogits = undefined;
    return this;
  }

  /** A new, trainable model with a copy of these parameters (on the device). */
  clone(): GPT {
    const params = this.backend.zeros([this.layout.total]);
    this.backend.copy(this.params, params);
    return new GPT(this.backend, this.config, this.layout, params);
  }

  /**
   * A new, trainable model with this one's weights and the given heads: heads this model lacks
   * start at zero (a reward model from an SFT model; a value model from a reward model).
   */
  async withHeads(heads: HeadOptions): Promise<GPT> {
    const weights = await this.readParameters();
    return GPT.fromWeights(this.backend, this.config, (s) => weights.get(s.name), { heads });
  }

  zeroGrad(): void {
    this.backend.zero(this.grads);
  }

  /** Every parameter by name, read back to the host. */
  async readParameters(): Promise<Map<string, Float32Array>> {
    return this.#split(await this.backend.read(this.params));
  }

  async readGradients(): Promise<Map<string, Float32Array>> {
    return this.#split(await this.backend.read(this.grads));
  }

  /** Runs the transformer on a batch up to the final LayerNorm (and the LM logits unless told not to). */
  forward(batch: TokenBatch | PreparedBatch, options: ForwardOptions = {}): PreparedBatch {
    const be = this.backend;
    const p = 'keyMask' in batch ? batch : prepareBatch(batch, this.config, options.reduction);
    const acts = this.#activations(p.B, p.T);
    const bt = this.#batch!;
    bt.upload(p);
    this.#forwardOptions = options;
    const eps = this.config.layer_norm_epsilon;
    embedding(bt.ids, bt.pos, this.param('wte.weight'), this.param('wpe.weight'), acts.blocks[0]?.input ?? acts.out);
    const L = this.config.n_layer;
    for (let l = 0; l < L; l++) {
      const blk = acts.blocks[l]!;
      const w = (name: string) => this.param(`h.${l}.${name}`);
      layerNorm(blk.input, w('ln_1.weight'), w('ln_1.bias'), blk.ln1, blk.ln1Mean, blk.ln1Rstd, eps);
      matmul(blk.ln1, w('attn.c_attn.weight'), { bias: w('attn.c_attn.bias'), out: blk.qkv });
      attentionForward(be, { qkv: blk.qkv, q: blk.q, k: blk.k, v: blk.v, scores: acts.scores, probs: blk.probs, yHeads: acts.yHeads, out: blk.attnOut }, bt.keyMask);
      // Residual adds ride on matmul's accumulate: copy the stream, then add the projection.
      be.copy(blk.input, blk.mid);
      matmul(blk.attnOut, w('attn.c_proj.weight'), { bias: w('attn.c_proj.bias'), out: blk.mid, accumulate: true });
      layerNorm(blk.mid, w('ln_2.weight'), w('ln_2.bias'), blk.ln2, blk.ln2Mean, blk.ln2Rstd, eps);
      matmul(blk.ln2, w('mlp.c_fc.weight'), { bias: w('mlp.c_fc.bias'), out: blk.fc });
      gelu(blk.fc, blk.fcGelu);
      const next = l + 1 < L ? acts.blocks[l + 1]!.input : acts.out;
      be.copy(blk.mid, next);
      matmul(blk.fcGelu, w('mlp.c_proj.weight'), { bias: w('mlp.c_proj.bias'), out: next, accumulate: true });
    }
    layerNorm(acts.out, this.param('ln_f.weight'), this.param('ln_f.bias'), acts.lnf, acts.lnfMean, acts.lnfRstd, eps);
    if (options.logits ?? true) {
      acts.logits = acts.lazy(acts.logits, [p.B * p.T, this.config.vocab_size]);
      matmul(acts.lnf, this.param('wte.weight'), { transB: true, out: acts.logits });
    }
    this.#ran = 'forward';
    return p;
  }

  /** The LM logits [B·T, V] of the last forward. */
  get logits(): Tensor {
    const logits = this.#acts?.logits;
    if (!logits || this.#ran === 'none' || this.#forwardOptions.logits === false) throw new TensorStateError('GPT: no logits; run forward() with logits first');
    return logits;
  }

  /** Final hidden states [B·T, C] (after ln_f) of the last forward. */
  get hidden(): Tensor {
    if (!this.#acts || this.#ran === 'none') throw new TensorStateError('GPT: run forward() first');
    return this.#acts.lnf;
  }

  /**
   * Cross-entropy of the last forward's logits against its targets, combined as the batch
   * asked ('mean' over target tokens by default). Returns the loss [1] on the device; per-token
   * losses are in `tokenLosses`. Also prepares dlogits for backward({ lm: true }).
   */
  lmLoss(): Tensor {
    const be = this.backend;
    const logits = this.logits;
    const acts = this.#acts!;
    const bt = this.#batch!;
    const N = acts.B * acts.T;
    if (!this.#losses || this.#losses.size !== N) {
      this.#losses?.dispose();
      this.#losses = be.zeros([N]);
    }
    if (!this.#frozen) this.#dlogits = acts.logitsGrad ??= acts.lazy(undefined, logits.shape as number[]);
    softmaxCrossEntropy(logits, bt.targets, bt.weights, this.#losses, this.#frozen ? undefined : this.#dlogits);
    this.#loss ??= be.zeros([1]);
    sum(this.#losses, { out: this.#loss });
    this.#ran = 'loss';
    return this.#loss;
  }

  /** Per-token losses [B·T] (weighted as the loss reduction says) of the last lmLoss(). */
  get tokenLosses(): Tensor {
    if (!this.#losses || this.#ran !== 'loss') throw new TensorStateError('GPT: run lmLoss() first');
    return this.#losses;
  }

  /**
   * log p(target) and the entropy of softmax(scale·logits) at every position of the last
   * forward ([B·T] each; scale is 1/temperature, default 1). A position without a target
   * gets a NaN log-prob: mask it out (the loss ops read only masked positions).
   */
  tokenLogprobs(scale = 1): TokenLogprobs {
    const logits = this.logits;
    const N = logits.shape[0]!;
    if (!this.#logprobs || this.#logprobs.logprobs.size !== N) {
      this.#disposeLogprobs();
      this.#logprobs = { logprobs: this.backend.zeros([N]), entropies: this.backend.zeros([N]) };
    }
    tokenLogprobs(logits, this.#batch!.targets, this.#logprobs.logprobs, this.#logprobs.entropies, { scale });
    return this.#logprobs;
  }

  /**
   * The final hidden states (after ln_f) at each sequence's last real token: [B, C], what the
   * scalar head reads. A device tensor the model owns, rewritten by the next call.
   */
  lastHidden(): Tensor {
    const acts = this.#needForward();
    acts.hLast = acts.lazy(acts.hLast, [acts.B, this.config.n_embd]);
    gatherRows(acts.lnf, this.#batch!.lastRows, acts.hLast);
    return acts.hLast;
  }

  /** The scalar head r = w·h + b at each sequence's last real token: [B, 1]. */
  scores(): Tensor {
    const acts = this.#needForward();
    const hLast = this.lastHidden();
    acts.scoreOut = acts.lazy(acts.scoreOut, [acts.B, 1]);
    matmul(hLast, this.#headParam('score.weight'), { transB: true, bias: this.param('score.bias'), out: acts.scoreOut });
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
    if (this.#frozen) throw new TensorStateError('GPT: this model is frozen (a reference model); backward() needs a trainable model (clone() one)');
    const acts = this.#needForward();
    const bt = this.#batch!;
    const g = (name: string) => this.grad(name);
    const w = (name: string) => this.param(name);
    // ∂L/∂(ln_f output), summed over the heads.
    be.zero(acts.dLn);
    if (input.lm && input.dLogprobs) throw new TensorStateError('GPT: backward() takes lm or dLogprobs, not both; fold one loss into the other');
    if (input.lm) {
      if (this.#ran !== 'loss' || !this.#dlogits) throw new TensorStateError('GPT: backward({ lm: true }) needs lmLoss() after forward()');
      this.#backwardLogits(this.#dlogits);
    }
    if (input.dLogprobs) this.#backwardLogits(this.#logprobGradient(input.dLogprobs, input.logprobScale ?? 1));
    if (input.dScores) {
      const dh = (acts.dhLast = acts.lazy(acts.dhLast, [acts.B, this.config.n_embd]));
      if (!acts.hLast) throw new TensorStateError('GPT: backward({ dScores }) needs scores() after forward()');
      matmul(input.dScores, acts.hLast, { transA: true, out: g('score.weight'), accumulate: true });
      columnSum(input.dScores, g('score.bias'));
      matmul(input.dScores, this.#headParam('score.weight'), { out: dh });
      scatterAddRows(dh, bt.lastIndex, acts.dLn);
    }
    if (input.dLastHidden) {
      const C = this.config.n_embd;
      const d = input.dLastHidden;
      if (d.shape.length !== 2 || d.shape[0] !== acts.B || d.shape[1] !== C) {
        throw new ShapeError(`GPT: dLastHidden has shape [${d.shape.join(', ')}], expected [${acts.B}, ${C}] (one row per sequence of the last forward)`);
      }
      scatterAddRows(d, bt.lastIndex, acts.dLn);
    }
    if (input.dValues) {
      matmul(input.dValues, acts.lnf, { transA: true, out: g('v_head.summary.weight'), accumulate: true });
      columnSum(input.dValues, g('v_head.summary.bias'));
      matmul(input.dValues, this.#headParam('v_head.summary.weight'), { out: acts.dLn, accumulate: true });
    }
    const dres = acts.dResidual;
    be.zero(dres);
    layerNormBackward(acts.dLn, acts.out, w('ln_f.weight'), acts.lnfMean, acts.lnfRstd, dres, g('ln_f.weight'), g('ln_f.bias'));
    for (let l = this.config.n_layer - 1; l >= 0; l--) {
      const blk = acts.blocks[l]!;
      const h = `h.${l}.`;
      // MLP: dres is ∂L/∂(block output) and becomes ∂L/∂mid once ln_2's backward adds in.
      matmul(blk.fcGelu, dres, { transA: true, out: g(h + 'mlp.c_proj.weight'), accumulate: true });
      columnSum(dres, g(h + 'mlp.c_proj.bias'));
      matmul(dres, w(h + 'mlp.c_proj.weight'), { transB: true, out: acts.dFcGelu });
      geluBackward(acts.dFcGelu, blk.fc, acts.dFc);
      matmul(blk.ln2, acts.dFc, { transA: true, out: g(h + 'mlp.c_fc.weight'), accumulate: true });
      columnSum(acts.dFc, g(h + 'mlp.c_fc.bias'));
      matmul(acts.dFc, w(h + 'mlp.c_fc.weight'), { transB: true, out: acts.dLn });
      layerNormBackward(acts.dLn, blk.mid, w(h + 'ln_2.weight'), blk.ln2Mean, blk.ln2Rstd, dres, g(h + 'ln_2.weight'), g(h + 'ln_2.bias'));
      // Attention: dres is now ∂L/∂mid and becomes ∂L/∂input.
      matmul(blk.attnOut, dres, { transA: true, out: g(h + 'attn.c_proj.weight'), accumulate: true });
      columnSum(dres, g(h + 'attn.c_proj.bias'));
      matmul(dres, w(h + 'attn.c_proj.weight'), { transB: true, out: acts.dAttnOut });
      attentionBackward(
        be,
        { qkv: blk.qkv, q: blk.q, k: blk.k, v: blk.v, scores: acts.scores, probs: blk.probs, yHeads: acts.yHeads, out: blk.attnOut },
        { dOut: acts.dAttnOut, dQkv: acts.dQkv, dq: acts.dq, dk: acts.dk, dv: acts.dv, dYHeads: acts.yHeads, dProbs: acts.dProbs, dScores: acts.dScores },
      );
      matmul(blk.ln1, acts.dQkv, { transA: true, out: g(h + 'attn.c_attn.weight'), accumulate: true });
      columnSum(acts.dQkv, g(h + 'attn.c_attn.bias'));
      matmul(acts.dQkv, w(h + 'attn.c_attn.weight'), { transB: true, out: acts.dLn });
      layerNormBackward(acts.dLn, blk.input, w(h + 'ln_1.weight'), blk.ln1Mean, blk.ln1Rstd, dres, g(h + 'ln_1.weight'), g(h + 'ln_1.bias'));
    }
    scatterAddRows(dres, bt.idIndex, g('wte.weight'));
    scatterAddRows(dres, bt.posIndex, g('wpe.weight'));
  }

  /** Device bytes held: parameters, gradients and activations (optimizer state is the optimizer's). */
  get deviceBytes(): number {
    return (this.params.size + (this.#grads?.size ?? 0) + (this.#losses?.size ?? 0)) * 4 + (this.#acts?.bytes ?? 0);
  }

  dispose(): void {
    this.#disposeLogprobs();
    this.#acts?.dispose();
    this.#batch?.dispose();
    this.#losses?.dispose();
    this.#loss?.dispose();
    this.#grads?.dispose();
    this.params.dispose();
  }

  #activations(B: number, T: number): Activations {
    if (this.#acts && this.#acts.B === B && this.#acts.T === T) return this.#acts;
    this.#acts?.dispose();
    this.#batch?.dispose();
    this.#losses?.dispose();
    this.#losses = undefined;
    this.#dlogits = undefined;
    this.#negatedDLogprobs = undefined;
    this.#acts = new Activations(this.backend, this.config, B, T);
    this.#batch = new BatchTensors(this.backend, B, T);
    return this.#acts;
  }

  /** Adds the LM head's share of backward for ∂L/∂logits: into wte's gradient and ∂L/∂ln_f. */
  #backwardLogits(dlogits: Tensor): void {
    const acts = this.#acts!;
    matmul(dlogits, acts.lnf, { transA: true, out: this.grad('wte.weight'), accumulate: true });
    matmul(dlogits, this.param('wte.weight'), { out: acts.dLn, accumulate: true });
  }

  /**
   * ∂L/∂logits from ∂L/∂log p(target): softmaxCrossEntropy with weights −∂L/∂log p gives
   * exactly dlogits = ∂L/∂log p · scale · (onehot − softmax), and skips rows of weight 0.
   */
  #logprobGradient(dLogprobs: Tensor, logitScale: number): Tensor {
    const be = this.backend;
    const acts = this.#acts!;
    const logits = this.logits;
    const N = logits.shape[0]!;
    if (dLogprobs.size !== N) throw new ShapeError(`GPT: dLogprobs has ${dLogprobs.size} values, the last forward has ${N} positions`);
    if (!this.#losses || this.#losses.size !== N) {
      this.#losses?.dispose();
      this.#losses = be.zeros([N]);
    }
    this.#negatedDLogprobs = acts.lazy(this.#negatedDLogprobs, [N]);
    scale(dLogprobs, -1, this.#negatedDLogprobs);
    const dlogits = (acts.logitsGrad ??= acts.lazy(undefined, logits.shape as number[]));
    softmaxCrossEntropy(logits, this.#batch!.targets, this.#negatedDLogprobs, this.#losses, dlogits, { scale: logitScale });
    return dlogits;
  }

  #disposeLogprobs(): void {
    this.#logprobs?.logprobs.dispose();
    this.#logprobs?.entropies.dispose();
    this.#logprobs = undefined;
  }

  #needForward(): Activations {
    if (!this.#acts || this.#ran === 'none') throw new TensorStateError('GPT: run forward() first');
    return this.#acts;
  }

  #headParam(name: string): Tensor {
    if (!this.layout.byName.has(name)) {
      throw new TensorStateError(`GPT: this model has no ${name.split('.')[0]} head; create it with heads: { ${name.startsWith('score') ? 'score' : 'value'}: true }`);
    }
    return this.param(name);
  }

  #view(cache: Map<string, Tensor>, buffer: Tensor, name: string): Tensor {
    let t = cache.get(name);
    if (!t) {
      const spec = this.layout.byName.get(name);
      if (!spec) throw new ShapeError(`GPT: no parameter named ${JSON.stringify(name)}`);
      t = this.backend.view(buffer, spec.offset, spec.shape);
      cache.set(name, t);
    }
    return t;
  }

  #split(all: Float32Array): Map<string, Float32Array> {
    return new Map(this.layout.specs.map((s) => [s.name, all.slice(s.offset, s.offset + s.size)]));
  }
}
