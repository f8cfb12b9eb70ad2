import type { ParameterStore } from './parameter_store.js';

/**
 * A model's base weights, held by every model that computes with them: the model itself,
 * and the roles adapted from it (CausalLM.withAdapter, clone of an adapted model). Freed when
 * the last of them is disposed, so disposing one role never pulls the weights from another.
 */
export class SharedWeights {
  #holders = 0;
  constructor(readonly store: ParameterStore) {}

  /** Counts one more holder; returns this. */
  share(): this {
    this.#holders++;
    return this;
  }

  /** One holder is done; the last frees the store. */
  release(): void {
    if (--this.#holders === 0) this.store.dispose();
  }
}
