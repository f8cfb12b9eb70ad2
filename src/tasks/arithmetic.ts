// The built-in reasoning task of RLMEC (ALGORITHMS.md §5): short arithmetic word problems
// whose solutions are one step per line ("3+5=8") ending with "The answer is N". Everything a
// method needs to judge a prediction is here: the answer, the first wrong step, and a
// minimum-edit rewrite that keeps the correct steps verbatim and continues correctly.
import { ConfigError } from '../errors.js';
import { philoxUniforms } from '../random/philox.js';

export type Operator = '+' | '-' | '*';

/** One operation of a solution: left op right = result. */
export interface ArithmeticStep {
  left: number;
  op: Operator;
  right: number;
  result: number;
}

export interface ArithmeticProblem {
  /** The word problem, one line. */
  question: string;
  /** The correct steps, in order: each starts from the previous result. */
  steps: ArithmeticStep[];
  answer: number;
}

/** 1: one + or − step on numbers to 9; 2: two steps to 20; 3: three steps with ×. */
export type Difficulty = 1 | 2 | 3;
export const DIFFICULTIES: readonly Difficulty[] = [1, 2, 3];

const NAMES = ['Ann', 'Bob', 'Cy', 'Dee', 'Eve', 'Fay', 'Gus', 'Hal'];
const ITEMS = ['apples', 'books', 'coins', 'pens', 'cards', 'shells'];
const ANSWER_PREFIX = 'The answer is ';

const LEVELS: Record<Difficulty, { steps: number; max: number; ops: Operator[] }> = {
  1: { steps: 1, max: 9, ops: ['+', '-'] },
  2: { steps: 2, max: 9, ops: ['+', '-'] },
  3: { steps: 3, max: 20, ops: ['+', '-', '*'] },
};

function apply(left: number, op: Operator, right: number): number {
  return op === '+' ? left + right : op === '-' ? left - right : left * right;
}

/** A step as a solution writes it: "3+5=8". */
export function formatStep(s: ArithmeticStep): string {
  return `${s.left}${s.op}${s.right}=${s.result}`;
}

/** The reference solution: a step per line, then "The answer is N". */
export function formatSolution(p: ArithmeticProblem): string {
  return [...p.steps.map(formatStep), `${ANSWER_PREFIX}${p.answer}`].join('\n');
}

/** The prompt a model continues: the question and a newline. */
export function problemPrompt(p: Pick<ArithmeticProblem, 'question'>): string {
  return `${p.question}\n`;
}

/** The number after the last "The answer is", or undefined when there is none. */
export function extractAnswer(text: string): number | undefined {
  const at = text.lastIndexOf(ANSWER_PREFIX);
  if (at < 0) return undefined;
  const m = /^\s*(-?\d+(?:\.\d+)?)/.exec(text.slice(at + ANSWER_PREFIX.length));
  return m ? Number(m[1]) : undefined;
}

/**
 * `count` problems at a difficulty, drawn from Philox under `seed` (problem i from stream
 * i·64: the same seed gives the same problems everywhere). Results never go below 0.
 */
export function generateArithmeticProblems(o: { seed: number; count: number; difficulty: Difficulty; first?: number }): ArithmeticProblem[] {
  const level = LEVELS[o.difficulty];
  if (!level) throw new ConfigError(`arithmetic task: difficulty must be one of ${DIFFICULTIES.join(', ')}, got ${JSON.stringify(o.difficulty)}`);
  if (!Number.isInteger(o.count) || o.count < 0) throw new ConfigError(`arithmetic task: count must be a whole number, got ${o.count}`);
  const first = o.first ?? 0;
  return Array.from({ length: o.count }, (_, i) => problemFrom(philoxUniforms(64, { seed: o.seed, stream: (first + i) * 64, offset: o.difficulty }), level));
}

function problemFrom(u: Float32Array, level: (typeof LEVELS)[Difficulty]): ArithmeticProblem {
  let k = 0;
  const pick = (n: number) => Math.min(n - 1, Math.floor(u[k++]! * n));
  const name = NAMES[pick(NAMES.length)]!;
  const item = ITEMS[pick(ITEMS.length)]!;
  let value = 1 + pick(level.max);
  const sentences = [`${name} has ${value} ${item}.`];
  const steps: ArithmeticStep[] = [];
  for (let s = 0; s < level.steps; s++) {
    let op = level.ops[pick(level.ops.length)]!;
    if (op === '-' && value === 0) op = '+';
    const right = op === '*' ? 2 + pick(3) : op === '-' ? 1 + pick(value) : 1 + pick(level.max);
    const result = apply(value, op, right);
    steps.push({ left: value, op, right, result });
    sentences.push(op === '+' ? `Gets ${right} more.` : op === '-' ? `Gives away ${right}.` : `Then has ${right} times as many.`);
    value = result;
  }
  return { question: `${sentences.join(' ')} How many ${item} now?`, steps, answer: value };
}

export interface SolutionCheck {
  /** The final answer read after "The answer is" equals the problem's. */
  correct: boolean;
  answer: number | undefined;
  /** The prediction's lines (trimmed of the newline), as the step numbering counts them. */
  lines: string[];
  /**
   * Index in `lines` of the first wrong line: a step that is not the next correct step, or
   * the answer line when its number is wrong; lines.length when a line is missing (the
   * prediction stops early); undefined when every line is right.
   */
  firstError: number | undefined;
}

/** Parses "3 + 5 = 8" (spaces allowed). */
function parseStep(line: string): ArithmeticStep | undefined {
  const m = /^\s*(-?\d+)\s*([+\-*])\s*(-?\d+)\s*=\s*(-?\d+)\s*$/.exec(line);
  return m ? { left: Number(m[1]), op: m[2] as Operator, right: Number(m[3]), result: Number(m[4]) } : undefined;
}

/**
 * Checks a prediction line by line against the problem: step i must be the problem's step i
 * (same operands and operator) with the right result, then the answer line must follow.
 */
export function checkSolution(p: ArithmeticProblem, prediction: string): SolutionCheck {
  const lines = prediction.replace(/\s+$/, '').split('\n');
  const answer = extractAnswer(prediction);
  const correct = answer === p.answer;
  let firstError: number | undefined;
  for (let i = 0; i <= p.steps.length && firstError === undefined; i++) {
    const line = lines[i];
    if (line === undefined) firstError = i;
    else if (i < p.steps.length) {
      const s = parseStep(line);
      const want = p.steps[i]!;
      if (!s || s.left !== want.left || s.op !== want.op || s.right !== want.right || s.result !== want.result) firstError = i;
    } else if (extractAnswer(line) !== p.answer || !line.trimStart().startsWith(ANSWER_PREFIX)) firstError = i;
  }
  if (firstError === undefined && lines.length > p.steps.length + 1) firstError = p.steps.length + 1;
  return { correct, answer, lines, firstError };
}

/**
 * The minimum-edit teacher: the prediction's lines before its first wrong line kept verbatim,
 * then the correct steps and answer from there on. A prediction with no wrong line is returned
 * as it is.
 */
export function minimumEditRewrite(p: ArithmeticProblem, prediction: string): string {
  const check = checkSolution(p, prediction);
  if (check.firstError === undefined) return prediction;
  const reference = formatSolution(p).split('\n');
  return [...check.lines.slice(0, check.firstError), ...reference.slice(check.firstError)].join('\n');
}

export interface ArithmeticSplits {
  /** Demonstrations for SFT: prompt = the question line, completion = the reference solution. */
  sft: { prompt: string; completion: string }[];
  /** Problems the RL methods sample on. */
  rl: ArithmeticProblem[];
  /** Held-out problems for test accuracy. */
  test: ArithmeticProblem[];
}

/**
 * The task's three splits, with no question in two of them (a duplicate drawn for a later
 * split is left out, so a split may come out slightly smaller than asked at difficulty 1).
 */
export function arithmeticSplits(o: { seed: number; difficulty: Difficulty; sft: number; rl: number; test: number }): ArithmeticSplits {
  const seen = new Set<string>();
  let first = 0;
  const draw = (count: number) => {
    const problems = generateArithmeticProblems({ seed: o.seed, count, difficulty: o.difficulty, first }).filter((p) => {
      if (seen.has(p.question)) return false;
      seen.add(p.question);
      return true;
    });
    first += count;
    return problems;
  };
  const sft = draw(o.sft).map((p) => ({ prompt: problemPrompt(p), completion: formatSolution(p) }));
  return { sft, rl: draw(o.rl), test: draw(o.test) };
}
