// The free-text default equivalence of RLP-SPG: two outputs are equivalent when the cosine
// similarity of their embeddings (the reward model's final hidden state) is at least τ.
import { ConfigError } from '../../errors.js';
import { showValue } from '../../training/config/schema.js';
import type { Equivalence } from './clustering.js';

/** Where embeddings come from: a function of the text, or a map filled beforehand (e.g. one batched forward pass per prompt). */
export type EmbeddingSource = ((text: string) => ArrayLike<number>) | ReadonlyMap<string, ArrayLike<number>>;

/** How many texts' embeddings are kept: clustering one prompt's n ≈ 10 outputs asks for each many times. */
const CACHED_TEXTS = 256;

interface Embedded {
  vector: ArrayLike<number>;
  norm: number;
}

/**
 * An Equivalence that holds when cos(embed(a), embed(b)) ≥ tau (−1 ≤ tau ≤ 1; the boundary
 * counts as equivalent). Identical texts are equivalent without embedding them. Each text's
 * embedding and norm are cached (the most recent CACHED_TEXTS texts). A missing, empty,
 * zero, non-finite or differently sized embedding throws (clustering reports the prompt).
 */
export function cosineEquivalence(embed: EmbeddingSource, tau = 0.9): Equivalence {
  if (typeof tau !== 'number' || !(tau >= -1 && tau <= 1)) {
    throw new ConfigError(`cosineEquivalence: tau must be a number in [-1, 1] (the least cosine similarity of equivalent outputs), got ${showValue(tau)}`);
  }
  const lookup = typeof embed === 'function' ? embed : (text: string) => {
    const v = embed.get(text);
    if (v === undefined) throw new ConfigError(`cosineEquivalence: no embedding for output ${showValue(text)}; put every output of the prompt in the map before clustering`);
    return v;
  };
  const cache = new Map<string, Embedded>();
  const embedded = (text: string): Embedded => {
    const hit = cache.get(text);
    if (hit) {
      cache.delete(text); // re-inserted below: the map's order is least recently used first
      cache.set(text, hit);
      return hit;
    }
    const vector = lookup(text);
    let squares = 0;
    for (let i = 0; i < vector.length; i++) squares += vector[i]! * vector[i]!;
    const norm = Math.sqrt(squares);
    if (!(norm > 0 && Number.isFinite(norm))) {
      throw new ConfigError(`cosineEquivalence: the embedding of ${showValue(text)} has norm ${norm} (${vector.length} values); embeddings must be finite and not all zero`);
    }
    const entry = { vector, norm };
    cache.set(text, entry);
    if (cache.size > CACHED_TEXTS) cache.delete(cache.keys().next().value!);
    return entry;
  };
  return (a, b) => {
    if (a === b) return true;
    const x = embedded(a), y = embedded(b);
    if (x.vector.length !== y.vector.length) {
      throw new ConfigError(`cosineEquivalence: embeddings of ${showValue(a)} and ${showValue(b)} have ${x.vector.length} and ${y.vector.length} values; embed every output with the same model`);
    }
    let dot = 0;
    for (let i = 0; i < x.vector.length; i++) dot += x.vector[i]! * y.vector[i]!;
    return dot / (x.norm * y.norm) >= tau;
  };
}
