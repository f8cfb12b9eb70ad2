import type { Backend, Tensor } from '../backend/backend.js';
import { ShapeError } from '../errors.js';
import type { Trainable } from './adamw.js';
import { initialise, normalSampler } from './init.js';
import { packParameters, type ParamLayout, type TensorInit } from './layout.js';

/**
 * Named tensors in one parameter buffer and one gradient buffer of the same layout
 * (packParameters), for models assembled from small parts (MLP, MIBHeads): a Trainable, so
 * one AdamW updates every part at once.
 */
export class ParameterStore implements Trainable {
  readonly backend: Backend;
  readonly layout: ParamLayout;
  readonly params: Tensor;
  #grads: Tensor | undefined;
  readonly #paramViews = new Map<string, Tensor>();
  readonly #gradViews = new Map<string, Tensor>();

  /** Places `tensors` and initialises them as their Init says, normals drawn from `seed`. */
  constructor(backend: Backend, tensors: readonly TensorInit[], seed = 0) {
    this.backend = backend;
    this.layout = packParameters(tensors);
    const host = new Float32Array(this.layout.total);
    const normal = normalSampler(seed);
    for (const spec of this.layout.specs) initialise(host.subarray(spec.offset, spec.offset + spec.size), spec.init, normal);
    this.params = backend.tensor(host, [this.layout.total], this.layout);
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

  dispose(): void {
    this.#grads?.dispose();
    this.params.dispose();
  }

  #spec(name: string) {
    const spec = this.layout.byName.get(name);
    if (!spec) throw new ShapeError(`no parameter named ${JSON.stringify(name)}; the parameters are ${[...this.layout.byName.keys()].join(', ')}`);
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
