import type { Backend, Tensor } from '../backend/backend.js';
import { ShapeError } from '../errors.js';
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

/**
 * Named tensors in one parameter buffer and one gradient buffer of the same layout
 * (packParameters): a Trainable, so one AdamW updates every tensor at once. A CausalLM keeps
 * its weights in one; models assembled from small parts (MLP, MIBHeads) share one.
 */
export class ParameterStore implements Trainable {
  readonly backend: Backend;
  readonly layout: ParamLayout;
  readonly params: Tensor;
  #grads: Tensor | undefined;
  readonly #paramViews = new Map<string, Tensor>();
  readonly #gradViews = new Map<string, Tensor>();

  /** A store over `params`, a buffer of `layout` (owned from now on). */
  constructor(backend: Backend, layout: ParamLayout, params: Tensor) {
    this.backend = backend;
    this.layout = layout;
    this.params = params;
  }

  /** Places `tensors` and initialises them as their Init says, normals drawn from `seed`. */
  static create(backend: Backend, tensors: readonly TensorInit[], seed = 0): ParameterStore {
    const layout = packParameters(tensors);
    return new ParameterStore(backend, layout, backend.tensor(initialValues(layout, seed), [layout.total], layout));
  }

  /** The gradient buffer; allocated (zeroed) on first use. */
  get grads(): Tensor {
    this.#grads ??= this.backend.zeros([this.layout.total], this.layout);
    return this.#grads;
  }

  /** A view of one parameter by name. */
  param(name: string): Tensor {
    return this.#view(this.#paramViews, this.params, name);
  }

  /** A view of one parameter's gradient. */
  grad(name: string): Tensor {
    return this.#view(this.#gradViews, this.grads, name);
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

  /** Frees the gradient buffer (a frozen model's); the next use of grads allocates it again. */
  releaseGrads(): void {
    this.#grads?.dispose();
    this.#grads = undefined;
    this.#gradViews.clear();
  }

  /** Bytes of the parameter and gradient buffers. */
  get bytes(): number {
    return (this.params.size + (this.#grads?.size ?? 0)) * 4;
  }

  dispose(): void {
    this.#grads?.dispose();
    this.params.dispose();
  }

  #spec(name: string) {
    const spec = this.layout.byName.get(name);
    if (!spec) {
      const names = [...this.layout.byName.keys()];
      throw new ShapeError(`no parameter named ${JSON.stringify(name)}; the parameters are ${names.slice(0, 8).join(', ')}${names.length > 8 ? `, ... (${names.length} in all)` : ''}`);
    }
    return spec;
  }

  #view(cache: Map<string, Tensor>, buffer: Tensor, name: string): Tensor {
    let t = cache.get(name);
    if (!t) {
      const spec = this.#spec(name);
      t = this.backend.view(buffer, spec.offset, spec.shape);
      cache.set(name, t);
    }
    return t;
  }

  #split(all: Float32Array): Map<string, Float32Array> {
    return new Map(this.layout.specs.map((s) => [s.name, all.slice(s.offset, s.offset + s.size)]));
  }
}
