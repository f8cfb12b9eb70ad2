// The generative reward model's training data (ALGORITHMS.md §5), built from policy samples
// of problems with known solutions: error-locating examples (numbered steps, target "The
// first error step is [k]") and rewriting examples (target "Correct prediction:" followed by
// the minimum-edit rewrite). Correct samples become copy examples, kept with probability
// #erroneous / #all, so the GRM does not learn to copy everything.
import { philoxUniforms } from '../../random/philox.js';

/** A policy sample of a problem whose reference solution is known. */
export interface GRMSample {
  question: string;
  /** The reference solution (its lines are the steps). */
  solution: string;
  prediction: string;
  /** Whether the prediction's final answer is right. */
  correct: boolean;
  /** The teacher's rewrite; for a correct sample, the prediction itself. undefined: the teacher failed (dropped). */
  rewrite: string | undefined;
  /** 0-based index of the prediction's first wrong line (erroneous samples). */
  firstError?: number;
}

export interface GRMExample {
  prompt: string;
  completion: string;
  kind: 'locate' | 'rewrite' | 'copy';
}

export const REWRITE_INSTRUCTION = 'Correct the mistakes in prediction to get the correct answer with minimal modifications.';
export const LOCATE_INSTRUCTION = 'Find the first error step in prediction.';
/** What a rewriting answer starts with; the rewrite follows directly. */
export const REWRITE_PREFIX = 'Correct prediction:';

const numbered = (text: string) => text.split('\n').map((line, i) => `[${i + 1}] ${line}`).join('\n');

/** The error-locating target: step k (1-based) of the prediction is its first wrong one. */
export const locateAnswer = (k: number) => `The first error step is [${k}]`;

/** k from a locate answer ("The first error step is [k]"); undefined when the text has none. */
export function parseLocateAnswer(text: string): number | undefined {
  const m = /The first error step is \[(\d+)\]/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The rewriting prompt (also the prompt the token-level rewards are teacher-forced on). */
export function rewritePrompt(question: string, solution: string, prediction: string): string {
  return `Problem: ${question}\nCorrect solution:\n${solution}\nPrediction:\n${prediction}\n${REWRITE_INSTRUCTION}\n`;
}

export function locatePrompt(question: string, solution: string, prediction: string): string {
  return `Problem: ${question}\nCorrect solution:\n${numbered(solution)}\nPrediction:\n${numbered(prediction)}\n${LOCATE_INSTRUCTION}\n`;
}

export interface GRMDataset {
  examples: GRMExample[];
  /** Erroneous samples whose rewrite failed (left out). */
  dropped: number;
  /** Correct samples left out by the copy-keeping draw. */
  copiesSkipped: number;
}

/**
 * The GRM's SFT examples: for each erroneous sample with a rewrite, a locate and a rewrite
 * example; for each correct sample, a copy example with probability #erroneous / #all (a
 * Philox draw under `seed`, sample i on stream i).
 */
export function grmExamples(samples: readonly GRMSample[], seed: number): GRMDataset {
  const erroneous = samples.filter((s) => !s.correct).length;
  const keepCopy = samples.length ? erroneous / samples.length : 0;
  const u = philoxUniforms(Math.max(samples.length, 1), { seed, stream: 0, offset: 0 });
  const examples: GRMExample[] = [];
  let dropped = 0;
  let copiesSkipped = 0;
  samples.forEach((s, i) => {
    if (s.correct) {
      if (u[i]! < keepCopy) examples.push({ prompt: rewritePrompt(s.question, s.solution, s.prediction), completion: REWRITE_PREFIX + s.prediction, kind: 'copy' });
      else copiesSkipped++;
      return;
    }
    if (s.rewrite === undefined || s.firstError === undefined) {
      dropped++;
      return;
    }
    examples.push({ prompt: locatePrompt(s.question, s.solution, s.prediction), completion: locateAnswer(s.firstError + 1), kind: 'locate' });
    examples.push({ prompt: rewritePrompt(s.question, s.solution, s.prediction), completion: REWRITE_PREFIX + s.rewrite, kind: 'rewrite' });
  });
  return { examples, dropped, copiesSkipped };
}
