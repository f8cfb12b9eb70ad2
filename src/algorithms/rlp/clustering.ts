// RLP-SPG's semantic clustering of a prompt's policy samples: an output joins the first
// cluster whose representative (first member) it is equivalent to in both directions.
import { EquivalenceError } from '../../errors.js';
import { showValue } from '../../training/config/schema.js';

/**
 * Whether output `a` means what `b` means, for `prompt` (the paper: `a` entails `b` under an
 * NLI model). It need not be symmetric: clustering asks both ways. It is synchronous so that
 * clustering stays a plain loop; a model-based equivalence computes what it needs for a
 * prompt's outputs beforehand (in one batch, which is also what a device wants) and looks it
 * up here — see cosineEquivalence, which takes a Map of embeddings.
 */
export type Equivalence = (a: string, b: string, prompt: string) => boolean;

/** equivalent(a, b, prompt), or an EquivalenceError naming the prompt and both outputs if it throws or returns a non-boolean. */
function ask(equivalent: Equivalence, a: string, b: string, prompt: string): boolean {
  let answer: unknown;
  try {
    answer = equivalent(a, b, prompt);
  } catch (e) {
    throw new EquivalenceError(
      `the equivalence function failed on outputs ${showValue(a)} and ${showValue(b)} of prompt ${showValue(prompt)}: ` +
        `${e instanceof Error ? e.message : String(e)}; it must return a boolean for any two outputs of a prompt`,
      { prompt, a, b },
      { cause: e },
    );
  }
  if (typeof answer !== 'boolean') {
    throw new EquivalenceError(
      `the equivalence function returned ${showValue(answer)} for outputs ${showValue(a)} and ${showValue(b)} of prompt ${showValue(prompt)}; ` +
        'it must return true or false (a promise is not accepted: compute model outputs beforehand and look them up)',
      { prompt, a, b },
    );
  }
  return answer;
}

/**
 * Clusters of output indices, in the order they were formed, each listing its members in
 * output order (so a cluster's first member is its representative). Output i joins the first
 * cluster whose representative r has equivalent(r, i) and equivalent(i, r); else it starts one.
 */
export function clusterOutputs(outputs: readonly string[], equivalent: Equivalence, prompt: string): number[][] {
  const clusters: number[][] = [];
  outputs.forEach((output, i) => {
    const home = clusters.find((c) => {
      const representative = outputs[c[0]!]!;
      return ask(equivalent, representative, output, prompt) && ask(equivalent, output, representative, prompt);
    });
    if (home) home.push(i);
    else clusters.push([i]);
  });
  return clusters;
}
