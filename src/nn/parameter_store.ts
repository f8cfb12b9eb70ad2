import type { Backend, Tensor } from '../backend/backend.js';
import { viewAlign, type DType } from '../backend/dtype.js';
import { DTypeError, ShapeError } from '../errors.js';
import type { Trainable } from './adamw.js';
import { initialise, normalSampler } from './init.js';
import { packParameters, type ParamLayout, type ParamSpec, type TensorInit } from './layout.js';

/**
 * A layout's initial values on the host: `given(spec)` where it returns values (checked to
 * have spec.size elements), else the spec's Init, normals drawn from `seed` in layout order.
 */
export function initialValues(layout: ParamLayout, seed: number, given: (spec: ParamSpec) => Float32Array | undefined = () => undefined): Float32Array {
  const host = new Float32Array(layout.total);
  const normal = normalSampler(seed);
  for (const spec of layout.specs) {
    const values = given(spec);
    const slot = host.subarray(spec.offset, spec.offset + spec.size);
    if (!values) initialise(slot, spec.init, normal);
    else if (values.length !== spec.size) throw new ShapeError(`${spec.name} has ${values.length} values, expected ${spec.size}`);
    else slot.set(values);
  }
  return host;
}

export interface ParameterStoreOptions {
  /**
   * How the matrices [0, decayEnd) are stored (default 'f32'). In 'bf16' or 'f16' they take
   * half the memory and the store is frozen (no gradients): the vectors (norms, biases) stay
   * f32 in a buffer of their own.
   */
  dtype?: DType;
}

/**
 * Named tensors in one parameter buffer and one gradient buffer of the same layout
 * (packParameters): a Trainable, so one AdamW updates every tensor at once. A CausalLM keeps
 * its weights in one; models assembled from small parts (MLP, MIBHeads) share one.
 *
 * A frozen 16-bit store (dtype bf16 or f16) keeps the matrices [0, decayEnd) in `params`, a
 * 16-bit buffer the kernels that read weights read directly, and the vectors in `vectors`
 * (f32); `param(name)` views the right one.
 */
export class ParameterStore implements Trainable {
  readonly backend: Backend;
  readonly layout: ParamLayout;
  /** Every tensor of the layout; for a 16-bit store, the matrices [0, decayEnd) only. */
  readonly params: Tensor;
  /** A 16-bit store's vectors [decayEnd, total), in f32; undefined for an f32 store. */
  readonly vectors: Tensor | undefined;
  #grads: Tensor | undefined;
  readonly #paramViews = new Map<string, Tensor>();
  readonly #gradViews = new Map<string, Tensor>();

  /**
   * A store over `params`, a buffer of `layout` (owned from now on), or for a 16-bit store over
   * `params`, its matrices [0, decayEnd) in bf16/f16, and `vectors`, the rest in f32.
   */
  constructor(backend: Backend, layout: ParamLayout, params: Tensor, vectors?: Tensor) {
    const half = params.dtype !== 'f32';
    const expect = half ? layout.decayEnd : layout.total;
    if (params.size !== expect || (half && vectors?.size !== layout.total - layout.decayEnd) || (!half && vectors)) {
      throw new ShapeError(
        `ParameterStore: a layout of ${layout.total} elements (matrices ${layout.decayEnd}) needs ${half ? `${layout.decayEnd} ${params.dtype} values and ${layout.total - layout.decayEnd} f32 vectors` : `one f32 buffer of ${layout.total}`}, ` +
        `got ${params} and ${vectors ?? 'no vectors'}`,
      );
    }
    if (half && layout.specs.some((s) => s.offset % viewAlign(params.dtype) !== 0)) {
      throw new ShapeError(`ParameterStore: a ${params.dtype} store needs a layout packed at ${viewAlign(params.dtype)} elements (packParameters(tensors, viewAlign('${params.dtype}')))`);
    }
    if (vectors && vectors.dtype !== 'f32') throw new DTypeError(`ParameterStore: the vectors are stored in f32, got ${vectors}`);
    this.backend = backend;
    this.layout = layout;
    this.params = params;
    this.vectors = vectors;
  }

  /** Places `tensors` and initialises them as their Init says, normals drawn from `seed`; matrices in options.dtype. */
  static create(backend: Backend, tensors: readonly TensorInit[], seed = 0, options: ParameterStoreOptions = {}): ParameterStore {
    const dtype = options.dtype ?? 'f32';
    const layout = packParameters(tensors, viewAlign(dtype));
    return ParameterStore.upload(backend, layout, initialValues(layout, seed), dtype);
  }

  /**
   * A store of `layout` holding `host` (layout.total values): one f32 buffer, or its matrices
   * rounded to `dtype` (nearest even) and its vectors in f32.
   */
  static upload(backend: Backend, layout: ParamLayout, host: Float32Array, dtype: DType = 'f32'): ParameterStore {
    if (dtype === 'f32') return new ParameterStore(backend, layout, backend.tensor(host, [layout.total], layout));
    const d = layout.decayEnd;
    const matrices = backend.tensor(host.subarray(0, d), [d], { dtype, parts: layout.parts.filter((p) => p.offset < d) });
    const vectors = backend.tensor(host.subarray(d), [layout.total - d], { parts: layout.parts.filter((p) => p.offset >= d).map((p) => ({ ...p, offset: p.offset - d })) });
    return new ParameterStore(backend, layout, matrices, vectors);
  }

  /** How the matrices are stored. */
  get dtype(): DType {
    return this.params.dtype;
  }

  /** A 16-bit store has no gradients: its weights are read-only. */
  get frozen(): boolean {
    return this.dtype !== 'f32';
  }

  /** The gradient buffer; allocated (zeroed) on first use. */
  get grads(): Tensor {
    if (this.frozen) {
      throw new DTypeError(
        `ParameterStore: its matrices are stored in ${this.dtype}, which makes it frozen (no op writes 16-bit weights, and gradients need f32 ones); ` +
        "create it (or load the model) with dtype 'f32' to train it",
      );
    }
    this.#grads ??= this.backend.zeros([this.layout.total], this.layout);
    return this.#grads;
  }

  /** A view of one parameter by name. */
  param(name: string): Tensor {
    let t = this.#paramViews.get(name);
    if (!t) {
      const spec = this.#spec(name);
      t = this.vectors && !spec.decay ? this.backend.view(this.vectors, spec.offset - this.layout.decayEnd, spec.shape) : this.backend.view(this.params, spec.offset, spec.shape);
      this.#paramViews.set(name, t);
    }
    return t;
  }

  /** A view of one parameter's gradient. */
  grad(name: string): Tensor {
    const grads = this.grads;
    let t = this.#gradViews.get(name);
    if (!t) {
      const spec = this.#spec(name);
      t = this.backend.view(grads, spec.offset, spec.shape);
      this.#gradViews.set(name, t);
    }
    return t;
  }

  zeroGrad(): void {
    this.backend.zero(this.grads);
  }

  /** Every parameter by name, read back to the host (as f32, decoded from a 16-bit store). */
  async readParameters(): Promise<Map<string, Float32Array>> {
    const all = await this.backend.read(this.params);
    if (!this.vectors) return this.#split(all);
    const joined = new Float32Array(this.layout.total);
    joined.set(all);
    joined.set(await this.backend.read(this.vectors), this.layout.decayEnd);
    return this.#split(joined);
  }

  async readGradients(): Promise<Map<string, Float32Array>> {
    return this.#split(await this.backend.read(this.grads));
  }

  /** Frees the gradient buffer (a frozen model's); the next use of grads allocates it again. */
  releaseGrads(): void {
    this.#grads?.dispose();
    this.#grads = undefined;
    this.#gradViews.clear();
  }

  /** Bytes of the parameter and gradient buffers. */
  get bytes(): number {
    return this.params.bytes + (this.vectors?.bytes ?? 0) + (this.#grads?.bytes ?? 0);
  }

  dispose(): void {
    this.#grads?.dispose();
    this.params.dispose();
    this.vectors?.dispose();
  }

  #spec(name: string) {
    const spec = this.layout.byName.get(name);
    if (!spec) {
      const names = [...this.layout.byName.keys()];
      throw new ShapeError(`no parameter named ${JSON.stringify(name)}; the parameters are ${names.slice(0, 8).join(', ')}${names.length > 8 ? `, ... (${names.length} in all)` : ''}`);
    }
    return spec;
  }

  #split(all: Float32Array): Map<string, Float32Array> {
    return new Map(this.layout.specs.map((s) => [s.name, all.slice(s.offset, s.offset + s.size)]));
  }
}
