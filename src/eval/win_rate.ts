// AlpacaFarm's win-rate: each evaluated output is judged against a reference output for the
// same prompt, and the judgements are averaged with draws counting half a win.
import { AnnotatorError, ConfigError } from '../errors.js';
import { showValue } from '../training/config/schema.js';

/** An annotator's verdict: 0 draw, 1 the reference wins, 2 the model wins (AlpacaFarm's codes). */
export type PreferenceCode = 0 | 1 | 2;

export interface WinRateResult {
  /** 100 · mean of the per-item values (1 model win, 0 reference win, ½ draw): 0..100. */
  win_rate: number;
  /**
   * 100 · the standard error of that mean (sample standard deviation with n − 1, over √n).
   * NaN for a single item, whose spread is unknown (as pandas' sem, which AlpacaFarm uses, gives).
   */
  standard_error: number;
  n: number;
  wins: number;
  losses: number;
  draws: number;
}

/** One evaluated item as an annotator sees it; `index` is its position in the evaluated list. */
export interface AnnotatedItem {
  prompt: string;
  reference: string;
  output: string;
  index: number;
}

/** Judges the model's output against the reference: a code, or a promise of one (a model-based judge). */
export type PreferenceAnnotator = (item: AnnotatedItem) => PreferenceCode | Promise<PreferenceCode>;

/** The value of one verdict towards the win-rate: a model win 1, a reference win 0, a draw ½. */
const VALUE: Record<PreferenceCode, number> = { 0: 0.5, 1: 0, 2: 1 };

function isCode(v: unknown): v is PreferenceCode {
  return v === 0 || v === 1 || v === 2;
}

/** The win-rate of the model over the reference from the annotators' codes, one per prompt. */
export function winRate(codes: readonly PreferenceCode[]): WinRateResult {
  const { scores: _, ...result } = promptWinRate(codes.map((c) => [c]));
  return result;
}

/**
 * The win-rate when each prompt has several judged outputs (sampled decoding): a prompt's
 * score is the mean value of its codes, the win-rate 100 · the mean score and its standard
 * error taken over the prompts (n = prompts; wins, draws and losses count every code).
 * With one code per prompt this is winRate. `scores` is each prompt's score, in order, for
 * paired comparisons.
 */
export function promptWinRate(groups: readonly (readonly PreferenceCode[])[]): WinRateResult & { scores: number[] } {
  const n = groups.length;
  if (n === 0) throw new ConfigError('winRate: no preference codes; evaluate at least one output against its reference');
  let wins = 0, losses = 0, draws = 0, index = 0;
  const scores = groups.map((codes, prompt) => {
    if (!codes.length) throw new ConfigError(`winRate: prompt ${prompt} has no preference codes; judge at least one output per prompt`);
    let sum = 0;
    for (const c of codes) {
      if (!isCode(c)) {
        throw new AnnotatorError(
          `winRate: preference code ${index} is ${showValue(c)}; each code must be 0 (draw), 1 (reference wins) or 2 (model wins)`,
          { index, value: c },
        );
      }
      if (c === 2) wins++;
      else if (c === 1) losses++;
      else draws++;
      sum += VALUE[c];
      index++;
    }
    return sum / codes.length;
  });
  const mean = scores.reduce((a, b) => a + b, 0) / n;
  let squares = 0;
  for (const s of scores) squares += (s - mean) ** 2;
  const sem = n > 1 ? Math.sqrt(squares / (n - 1) / n) : NaN;
  return { win_rate: 100 * mean, standard_error: 100 * sem, n, wins, losses, draws, scores };
}

/**
 * Annotates every item (one at a time, in order: a model-based annotator shares the device)
 * and returns the win-rate with the codes. An annotator that throws or returns anything but
 * 0, 1 or 2 stops the evaluation with an AnnotatorError naming the item's prompt.
 */
export async function evaluateWinRate(
  items: readonly { prompt: string; reference: string; output: string }[],
  annotator: PreferenceAnnotator,
): Promise<WinRateResult & { codes: PreferenceCode[] }> {
  const codes: PreferenceCode[] = [];
  for (let index = 0; index < items.length; index++) {
    const { prompt, reference, output } = items[index]!;
    let code: unknown;
    try {
      code = await annotator({ prompt, reference, output, index });
    } catch (e) {
      throw new AnnotatorError(
        `evaluateWinRate: the annotator failed on item ${index} (prompt ${showValue(prompt)}): ${e instanceof Error ? e.message : String(e)}; ` +
          'fix the annotator so that it returns 0, 1 or 2 for every item',
        { index, prompt },
        { cause: e },
      );
    }
    if (!isCode(code)) {
      throw new AnnotatorError(
        `evaluateWinRate: the annotator returned ${showValue(code)} for item ${index} (prompt ${showValue(prompt)}); ` +
          'it must return 0 (draw), 1 (reference wins) or 2 (model wins)',
        { index, value: code, prompt },
      );
    }
    codes.push(code);
  }
  return { ...winRate(codes), codes };
}
