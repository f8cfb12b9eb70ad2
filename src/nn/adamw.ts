import type { Backend, Tensor } from '../backend/backend.js';
import { ConfigError } from '../errors.js';
import { sumSquares } from '../ops/core.js';
import { adamw } from '../ops/optimizer.js';
import type { ParamLayout } from './layout.js';

/**
 * What AdamW updates: one parameter buffer and its gradient buffer of the same layout, the
 * decayed tensors first (packParameters). CausalLM, MLP and MIBHeads are Trainables.
 */
export interface Trainable {
  readonly backend: Backend;
  readonly params: Tensor;
  readonly grads: Tensor;
  readonly layout: Pick<ParamLayout, 'total' | 'decayEnd'>;
}

/** AdamW hyperparameters, with PyTorch's (and TRL's) names and defaults. */
export interface AdamWConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weight_decay: number;
  /** Global-norm gradient clipping (TRL/HF `max_grad_norm`); 0 disables it. */
  max_grad_norm: number;
}

export const ADAMW_DEFAULTS: AdamWConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, max_grad_norm: 1.0 };

/**
 * AdamW over a Trainable's whole parameter buffer. The optimizer state is one buffer [2, P]
 * (first moments, then second moments). Weight decay applies to matrices and embeddings
 * only: the layout puts them first, so an update is two dispatches over two ranges. The
 * gradient's global norm is computed and applied on the device (no readback).
 */
export class AdamW {
  readonly config: AdamWConfig;
  readonly state: Tensor;
  /** Updates applied so far. */
  step = 0;
  readonly #gradSumSquares: Tensor;
  readonly #ranges: { param: Tensor; grad: Tensor; m: Tensor; v: Tensor; decay: boolean }[];

  constructor(readonly model: Trainable, config: Partial<AdamWConfig> = {}) {
    this.config = { ...ADAMW_DEFAULTS, ...config };
    for (const [k, v] of Object.entries(this.config)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ConfigError(`AdamW: ${k} must be a non-negative number, got ${JSON.stringify(v)}`);
    }
    if (this.config.beta1 >= 1 || this.config.beta2 >= 1) throw new ConfigError('AdamW: beta1 and beta2 must be below 1');
    const be = model.backend;
    const P = model.layout.total;
    this.state = be.zeros([2 * P]);
    this.#gradSumSquares = be.zeros([1]);
    const { decayEnd } = model.layout;
    const range = (start: number, end: number, decay: boolean) => ({
      param: be.view(model.params, start, [end - start]),
      grad: be.view(model.grads, start, [end - start]),
      m: be.view(this.state, start, [end - start]),
      v: be.view(this.state, P + start, [end - start]),
      decay,
    });
    this.#ranges = [];
    if (decayEnd > 0) this.#ranges.push(range(0, decayEnd, true));
    if (P > decayEnd) this.#ranges.push(range(decayEnd, P, false));
  }

  /**
   * Measures ‖g‖² of the model's current gradients on the device ([1]), for the clipping of
   * the next apply(). Read it to report the gradient norm.
   */
  measureGradients(): Tensor {
    return sumSquares(this.model.grads, { out: this.#gradSumSquares });
  }

  /** One update from the current gradients; `lr` overrides the configured rate (schedules). */
  update(lr = this.config.lr): void {
    if (this.config.max_grad_norm > 0) this.measureGradients();
    this.apply(lr);
  }

  /** One update, clipped by the norm of the last measureGradients() (call it after backward). */
  apply(lr = this.config.lr): void {
    const c = this.config;
    this.step++;
    const clip = c.max_grad_norm > 0 ? { gradSumSquares: this.#gradSumSquares, maxGradNorm: c.max_grad_norm } : {};
    for (const r of this.#ranges) {
      adamw(r.param, r.grad, r.m, r.v, {
        lr, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: r.decay ? c.weight_decay : 0, step: this.step, ...clip,
      });
    }
  }

  dispose(): void {
    this.state.dispose();
    this.#gradSumSquares.dispose();
  }
}
