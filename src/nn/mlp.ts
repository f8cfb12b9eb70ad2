import type { Backend, Tensor } from '../backend/backend.js';
import { ConfigError, ShapeError, TensorStateError } from '../errors.js';
import { gelu, geluBackward } from '../ops/activations.js';
import { columnSum, matmul } from '../ops/core.js';
import type { Trainable } from './adamw.js';
import type { TensorInit } from './layout.js';
import { ParameterStore } from './parameter_store.js';

/** The widths of an MLP. */
export interface MLPShape {
  /** [in, hidden…, out]: sizes.length − 1 linear layers with GELU (tanh) between them. */
  sizes: readonly number[];
  /**
   * Widths of the first layer's input blocks (summing to sizes[0]); forward then takes one
   * tensor per block, as if they were concatenated column-wise. The first weight is stored
   * as one matrix per block, so a concatenation never has to be built on the device.
   * Default: one block.
   */
  inputs?: readonly number[];
}

/**
 * The parameters of an MLP, named `${prefix}${l}.weight` [in, out] and `${prefix}${l}.bias`
 * [out] for layer l (the first weight's blocks `${prefix}0.weight.${b}` when it has several).
 * Weights start N(0, 1/fan_in) (LeCun: unit-variance pre-activations), biases at 0.
 */
export function mlpTensors(shape: MLPShape, prefix = ''): TensorInit[] {
  const { sizes, blocks } = checkShape(shape);
  const tensors: TensorInit[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [fanIn, out] = [sizes[l]!, sizes[l + 1]!];
    const init = { kind: 'normal', std: 1 / Math.sqrt(fanIn) } as const;
    if (l === 0 && blocks.length > 1) blocks.forEach((w, b) => tensors.push({ name: `${prefix}0.weight.${b}`, shape: [w, out], init }));
    else tensors.push({ name: `${prefix}${l}.weight`, shape: [fanIn, out], init });
    tensors.push({ name: `${prefix}${l}.bias`, shape: [out], init: { kind: 'zeros' } });
  }
  return tensors;
}

function checkShape(shape: MLPShape): { sizes: readonly number[]; blocks: readonly number[] } {
  const { sizes } = shape;
  if (sizes.length < 2 || !sizes.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new ConfigError(`MLP: sizes must be at least [in, out] of positive integers, got ${JSON.stringify(sizes)}`);
  }
  const blocks = shape.inputs ?? [sizes[0]!];
  if (!blocks.every((n) => Number.isInteger(n) && n >= 1) || blocks.reduce((a, b) => a + b, 0) !== sizes[0]) {
    throw new ConfigError(`MLP: inputs ${JSON.stringify(blocks)} must be positive integers summing to the input width ${sizes[0]}`);
  }
  return { sizes, blocks };
}

/**
 * What one forward keeps for its backward, for N rows: the inputs (the caller's tensors:
 * keep them unchanged until the backward), each layer's pre-activation and GELU output, and
 * the backward's scratch. One MLP can run several forwards before their backwards, each on
 * its own tape (the same MLP over two views, or over positive and negative pairs).
 */
export class MLPTape {
  readonly N: number;
  inputs: readonly Tensor[] | undefined;
  /** [N, sizes[l + 1]] per layer; the last is the MLP's output. */
  readonly pre: Tensor[];
  /** GELU(pre[l]) for the hidden layers. */
  readonly act: Tensor[];
  /** Backward scratch of the hidden layers: ∂/∂act[l] and ∂/∂pre[l]. */
  readonly dAct: Tensor[];
  readonly dPre: Tensor[];

  constructor(backend: Backend, sizes: readonly number[], N: number) {
    this.N = N;
    const layers = sizes.slice(1);
    const hidden = layers.slice(0, -1);
    this.pre = layers.map((w) => backend.zeros([N, w]));
    this.act = hidden.map((w) => backend.zeros([N, w]));
    this.dAct = hidden.map((w) => backend.zeros([N, w]));
    this.dPre = hidden.map((w) => backend.zeros([N, w]));
  }

  get output(): Tensor {
    return this.pre.at(-1)!;
  }

  dispose(): void {
    for (const t of [...this.pre, ...this.act, ...this.dAct, ...this.dPre]) t.dispose();
  }
}

export interface MLPBackwardOptions {
  /** The forward's tape (default: the MLP's own). */
  tape?: MLPTape;
  /** Where ∂L/∂input goes: one tensor, or one per input block (undefined: not wanted). Default none. */
  dX?: Tensor | readonly (Tensor | undefined)[];
  /** Add into dX instead of overwriting it. */
  accumulate?: boolean;
}

/**
 * A multilayer perceptron on a backend: y = GELU(…GELU(x·W_1 + b_1)…)·W_L + b_L, weights
 * [in, out]. forward keeps what backward needs on a tape; backward adds the parameter
 * gradients into the store's gradient buffer (call zeroGrad() first for a fresh step).
 * Parameters live in a ParameterStore: its own (MLP.create), or one shared with other parts.
 */
export class MLP implements Trainable {
  readonly store: ParameterStore;
  readonly sizes: readonly number[];
  readonly inputs: readonly number[];
  readonly #prefix: string;
  readonly #ownsStore: boolean;
  /** The tape of forward() calls without one. */
  #defaultTape: MLPTape | undefined;

  /** An MLP with its own parameters, initialised from `seed`. */
  static create(backend: Backend, shape: MLPShape, options: { seed?: number } = {}): MLP {
    return new MLP(ParameterStore.create(backend, mlpTensors(shape), options.seed ?? 0), shape, '', true);
  }

  /** An MLP over parameters placed in `store` with mlpTensors(shape, prefix). */
  constructor(store: ParameterStore, shape: MLPShape, prefix = '', ownsStore = false) {
    const { sizes, blocks } = checkShape(shape);
    this.store = store;
    this.sizes = [...sizes];
    this.inputs = [...blocks];
    this.#prefix = prefix;
    this.#ownsStore = ownsStore;
  }

  get backend(): Backend {
    return this.store.backend;
  }

  /** The store's buffers: an AdamW over an MLP updates everything its store holds. */
  get params(): Tensor {
    return this.store.params;
  }

  get grads(): Tensor {
    return this.store.grads;
  }

  get layout() {
    return this.store.layout;
  }

  /** A tape for N rows; the caller disposes it. */
  newTape(N: number): MLPTape {
    return new MLPTape(this.backend, this.sizes, N);
  }

  /**
   * y [N, out] for x [N, in] (or one tensor per input block). The result is the tape's: the
   * next forward on the same tape overwrites it. Without a tape the MLP's own is used
   * (reallocated when N changes).
   */
  forward(x: Tensor | readonly Tensor[], tape?: MLPTape): Tensor {
    const xs = Array.isArray(x) ? (x as readonly Tensor[]) : [x as Tensor];
    if (xs.length !== this.inputs.length) throw new ShapeError(`MLP.forward: ${xs.length} input tensors for ${this.inputs.length} input blocks (${this.inputs.join(' + ')} columns)`);
    const N = xs[0]!.shape[0]!;
    xs.forEach((t, b) => expectRows('MLP.forward', `input ${b}`, t, N, this.inputs[b]!));
    const t = tape ?? this.#ownTape(N);
    if (t.N !== N) throw new ShapeError(`MLP.forward: the tape holds ${t.N} rows, the input has ${N}; make a tape with newTape(${N})`);
    t.inputs = xs;
    const L = this.sizes.length - 1;
    for (let l = 0; l < L; l++) {
      const ins = l === 0 ? xs : [t.act[l - 1]!];
      // The first block adds the bias; the others accumulate their share of the product.
      ins.forEach((a, b) => matmul(a, this.#weight(l, b), { bias: b === 0 ? this.#param(`${l}.bias`) : undefined, out: t.pre[l]!, accumulate: b > 0 }));
      if (l < L - 1) gelu(t.pre[l]!, t.act[l]!);
    }
    return t.output;
  }

  /** Adds ∂L/∂parameters for dOut = ∂L/∂y [N, out] of the tape's forward; writes (or adds) ∂L/∂x into dX. */
  backward(dOut: Tensor, options: MLPBackwardOptions = {}): void {
    const t = options.tape ?? this.#defaultTape;
    if (!t?.inputs) throw new TensorStateError('MLP.backward: run forward() on this tape first');
    const L = this.sizes.length - 1;
    expectRows('MLP.backward', 'dOut', dOut, t.N, this.sizes[L]!);
    const dX = options.dX === undefined ? [] : Array.isArray(options.dX) ? (options.dX as readonly (Tensor | undefined)[]) : [options.dX as Tensor];
    if (dX.length > this.inputs.length) throw new ShapeError(`MLP.backward: ${dX.length} dX tensors for ${this.inputs.length} input blocks`);
    dX.forEach((d, b) => d && expectRows('MLP.backward', `dX ${b}`, d, t.N, this.inputs[b]!));
    let d = dOut;
    for (let l = L - 1; l >= 0; l--) {
      const ins = l === 0 ? t.inputs : [t.act[l - 1]!];
      ins.forEach((a, b) => matmul(a, d, { transA: true, out: this.#grad(l, b), accumulate: true }));
      columnSum(d, this.store.grad(`${this.#prefix}${l}.bias`)); // adds
      if (l > 0) {
        matmul(d, this.#weight(l, 0), { transB: true, out: t.dAct[l - 1]! });
        geluBackward(t.dAct[l - 1]!, t.pre[l - 1]!, t.dPre[l - 1]!);
        d = t.dPre[l - 1]!;
      } else {
        dX.forEach((out, b) => out && matmul(d, this.#weight(0, b), { transB: true, out, accumulate: !!options.accumulate }));
      }
    }
  }

  /** Zeroes the store's gradients (shared with whatever else the store holds). */
  zeroGrad(): void {
    this.store.zeroGrad();
  }

  /** This MLP's weights by layer (W [in, out] row-major, the first layer's blocks stacked as rows) and biases. */
  async readWeights(): Promise<{ W: Float32Array[]; b: Float32Array[] }> {
    return this.#byLayer(await this.store.readParameters());
  }

  /** The gradients of readWeights(), in the same arrangement. */
  async readGradients(): Promise<{ W: Float32Array[]; b: Float32Array[] }> {
    return this.#byLayer(await this.store.readGradients());
  }

  /** Frees the MLP's own tape, and the parameters if the MLP owns its store. */
  dispose(): void {
    this.#defaultTape?.dispose();
    this.#defaultTape = undefined;
    if (this.#ownsStore) this.store.dispose();
  }

  #ownTape(N: number): MLPTape {
    if (this.#defaultTape?.N !== N) {
      this.#defaultTape?.dispose();
      this.#defaultTape = this.newTape(N);
    }
    return this.#defaultTape;
  }

  #byLayer(all: Map<string, Float32Array>): { W: Float32Array[]; b: Float32Array[] } {
    const L = this.sizes.length - 1;
    const W: Float32Array[] = [];
    const b: Float32Array[] = [];
    for (let l = 0; l < L; l++) {
      const blocks = l === 0 ? this.inputs.map((_, k) => all.get(this.#name(0, k))!) : [all.get(this.#name(l, 0))!];
      const w = new Float32Array(this.sizes[l]! * this.sizes[l + 1]!);
      let offset = 0;
      for (const block of blocks) {
        w.set(block, offset);
        offset += block.length;
      }
      W.push(w);
      b.push(all.get(`${this.#prefix}${l}.bias`)!);
    }
    return { W, b };
  }

  #name(l: number, block: number): string {
    return l === 0 && this.inputs.length > 1 ? `${this.#prefix}0.weight.${block}` : `${this.#prefix}${l}.weight`;
  }

  #weight(l: number, block: number): Tensor {
    return this.store.param(this.#name(l, block));
  }

  #grad(l: number, block: number): Tensor {
    return this.store.grad(this.#name(l, block));
  }

  #param(suffix: string): Tensor {
    return this.store.param(this.#prefix + suffix);
  }
}

function expectRows(op: string, name: string, t: Tensor, N: number, width: number): void {
  if (t.shape.length !== 2 || t.shape[0] !== N || t.shape[1] !== width) throw new ShapeError(`${op}: ${name} has shape [${t.shape.join(', ')}], expected [${N}, ${width}]`);
}
