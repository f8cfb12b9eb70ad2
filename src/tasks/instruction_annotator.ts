// The gold annotator of the instruction task: a deterministic stand-in for a human, grading a
// response in [0, 1] with partial credit (so noisy pairwise labels still carry a learnable
// signal), the pairwise preference the AlpacaFarm evaluation counts, and the task's answer
// equivalence (RLP-SPG's clustering, ALGORITHMS.md §4).
import { specOf, type InstructionExample } from './instructions.js';

/** 0: a draw; 1: the first response is better; 2: the second is. */
export type Preference = 0 | 1 | 2;

/**
 * Judges a policy's `output` against the `reference` output for one example, with the
 * evaluation codes of ALGORITHMS.md §4: 0 draw, 1 reference wins, 2 output (model) wins.
 */
export type Annotator<Example = InstructionExample> = (example: Example, reference: string, output: string) => Preference;

/** Scores closer than this are a draw. */
export const DRAW_TOLERANCE = 0.02;
/** Factor for a right answer introduced by a lead-in ("Answer:", "Sure!", …): right, but wordier than asked. */
export const LEAD_IN_FACTOR = 0.9;

/**
 * A lead-in: "Sure" (with "!", "," or ".") and/or "the answer is", "here you go", "answer"
 * (with ":", "=" or "-"), as the task's LEAD_IN_PHRASES write them. An empty match is none.
 */
const LEAD_IN = /^(?:sure\b[!,.]?\s*)?(?:(?:the answer is|here you go|answer)\s*[:=-]?\s*)?/i;
/** The end of the answer's sentence when another follows on its line ("71. Let me know …"). */
const SENTENCE_END = /[.!?]\s+(?=\S)/;

/** A response taken apart: the answer's words, whether a lead-in came first, and how much else there was. */
interface Reading {
  words: string[];
  leadIn: boolean;
  /** Characters of junk: lines after the answer's, and words after a one-word answer. */
  junk: number;
}

/**
 * The answer is the first line, minus a lead-in, up to its first sentence end followed by more
 * text (the rest is junk), minus a final full stop, split at spaces, commas and semicolons
 * ("7, 19, 31" reads as "7 19 31"; a lone "and" in a list is skipped).
 */
function read(example: InstructionExample, response: string): Reading {
  const text = response.trimStart();
  const newline = text.indexOf('\n');
  let line = (newline < 0 ? text : text.slice(0, newline)).trim();
  let junk = newline < 0 ? 0 : text.slice(newline + 1).trim().length;
  const leadIn = LEAD_IN.exec(line)![0];
  line = line.slice(leadIn.length);
  const end = SENTENCE_END.exec(line);
  if (end) {
    junk += line.slice(end.index + end[0].length).length;
    line = line.slice(0, end.index);
  }
  line = line.replace(/\.$/, '');
  let words = line.split(/[\s,;]+/).filter((w) => w !== '');
  if (specOf(example).single) {
    junk += words.slice(1).join(' ').length;
    words = words.slice(0, 1);
  } else {
    words = words.filter((w) => w.toLowerCase() !== 'and');
  }
  return { words, leadIn: leadIn !== '', junk };
}

/** A response's surface flaws as the annotator reads them. */
export interface SurfaceFlaws {
  /** Whether a lead-in ("Answer:", "Sure!", …) came before the answer. */
  leadIn: boolean;
  /** Characters of junk after the answer (0: none). */
  junk: number;
}

/** The surface flaws goldScore penalises in `response`: its lead-in and the junk after its answer. */
export function surfaceFlaws(example: InstructionExample, response: string): SurfaceFlaws {
  const { leadIn, junk } = read(example, response);
  return { leadIn, junk };
}

/** 0.7 for a little junk down to 0.4 for 30 characters or more (a response that ran on). */
function junkFactor(chars: number): number {
  return chars === 0 ? 1 : 0.4 + 0.3 * (1 - Math.min(1, chars / 30));
}

/**
 * The gold score of a response in [0, 1]:
 * - the kind's credit for the answer's words (instruction_kinds.ts): 1 when right — in any
 *   separator (spaces, commas), with a final full stop, list items of evens/starts_with in
 *   any order; partial for an answer partly right (items in the wrong order, one missed,
 *   a count or digit off, the second largest, a near-miss reversal); 0 for no answer;
 * - × 0.9 with a lead-in ("Answer: 7 19 31", "Sure! 7 19 31", every one of LEAD_IN_PHRASES);
 * - × 0.7 … 0.4 with junk after the answer (more lines, another sentence on its line, or more
 *   words after a one-word answer: a response that did not stop reads this way).
 */
export function goldScore(example: InstructionExample, response: string): number {
  const r = read(example, response);
  if (!r.words.length) return 0;
  const content = specOf(example).grade(example.payload, r.words);
  return content * (r.leadIn ? LEAD_IN_FACTOR : 1) * junkFactor(r.junk);
}

/** 1 when `a` scores higher, 2 when `b` does, 0 (a draw) when the gold scores are within `tolerance`. */
export function goldPreference(example: InstructionExample, a: string, b: string, tolerance = DRAW_TOLERANCE): Preference {
  const d = goldScore(example, a) - goldScore(example, b);
  return Math.abs(d) <= tolerance ? 0 : d > 0 ? 1 : 2;
}

/** The built-in annotator: goldPreference(example, reference, output), whose codes are the evaluation's (1 reference wins, 2 model wins). */
export const instructionAnnotator: Annotator = (example, reference, output) => goldPreference(example, reference, output);

/**
 * Whether two responses give the same answer once the task's normalisation is done: lead-in,
 * separators, final full stop, case, "three" for 3, and the order of set answers (evens,
 * starts_with) do not matter; junk after the answer (another line or sentence) does not
 * either. Right or wrong alike: "7 31 19" ≡ "Sure! 7, 31, 19. Hope this helps!".
 */
export function instructionEquivalence(example: InstructionExample, a: string, b: string): boolean {
  const spec = specOf(example);
  return spec.key(read(example, a).words) === spec.key(read(example, b).words);
}
