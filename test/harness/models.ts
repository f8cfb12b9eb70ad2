// Small models with random weights for the model-level suites.
import { CausalLM, type Backend, type GPTConfig } from 'webrlhf';
import type { Weights } from './gpt_reference.js';
import { rng } from './reference.js';

/** Random weights of every parameter, far from the init (LayerNorm gains around 1, heads non-zero). */
function randomWeights(model: CausalLM, seed: number): Map<string, Float32Array> {
  const r = rng(seed);
  const out = new Map<string, Float32Array>();
  for (const spec of model.layout.specs) {
    const isGain = /ln_\d\.weight|ln_f\.weight/.test(spec.name);
    out.set(spec.name, Float32Array.from({ length: spec.size }, () => (isGain ? 1 + 0.3 * (r() - 0.5) : 0.6 * (r() - 0.5))));
  }
  return out;
}

export function toF64(w: Map<string, Float32Array>): Weights {
  return new Map([...w].map(([k, v]) => [k, Float64Array.from(v)]));
}

/** A model with both heads and random weights (returned too, for the float64 reference). */
export function tinyModel(be: Backend, seed: number, config: GPTConfig): { model: CausalLM; weights: Map<string, Float32Array> } {
  const shape = CausalLM.create(be, config, { heads: { score: true, value: true } });
  const weights = randomWeights(shape, seed);
  shape.dispose();
  const model = CausalLM.fromWeights(be, config, (s) => weights.get(s.name), { heads: { score: true, value: true } });
  return { model, weights };
}
