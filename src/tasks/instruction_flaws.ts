// The surface flaws of the instruction task's demonstrations and reference outputs (issue 22):
// a lead-in phrase before the answer and junk after it. The gold annotator grades both
// (instruction_annotator.ts), so an SFT policy inherits flaws that a small reward model can
// learn to see and PPO can remove — the answer itself stays as it was.
import { ConfigError } from '../errors.js';

/** Phrases put before an answer; the annotator reads every one as a lead-in (× LEAD_IN_FACTOR). */
export const LEAD_IN_PHRASES: readonly string[] = ['Answer: ', 'The answer is ', 'Sure! ', 'Here you go: '];

/**
 * Junk put after an answer: a line of its own, or a sentence after the answer's own (the
 * annotator's reading ends the answer at the first line end or sentence end, and penalises
 * what follows by its length). Short, so that a flawed answer still ends within the RLP
 * run's max_new_tokens (32) and a policy learns to finish it.
 */
export const TRAILING_JUNK: readonly string[] = ['\nHope this helps!', '\nThanks!', '. Glad to help!', '! Enjoy.'];

/** How often each flaw is drawn, independently of the other. */
export interface SurfaceFlawRates {
  /** Share of texts that start with a lead-in phrase. */
  leadIn: number;
  /** Share of texts with junk after the answer. */
  trailingJunk: number;
}

/**
 * The demonstrations' flaws by default: above the issue's ~35 % lead-ins and ~20 % junk,
 * where PPO removed them more reliably in one seed's runs (docs/RLP.md, "The task's surface flaws").
 */
export const DEFAULT_DEMO_FLAWS: SurfaceFlawRates = { leadIn: 0.5, trailingJunk: 0.3 };
/** The reference outputs' flaws by default: text-davinci-003's references are wordy too. */
export const DEFAULT_REFERENCE_FLAWS: SurfaceFlawRates = { leadIn: 0.35, trailingJunk: 0.2 };

/** `rates` filled from `defaults`; a ConfigError names a rate outside [0, 1]. */
export function flawRates(what: string, rates: Partial<SurfaceFlawRates> | undefined, defaults: SurfaceFlawRates): SurfaceFlawRates {
  const out = { ...defaults, ...rates };
  for (const key of ['leadIn', 'trailingJunk'] as const) {
    const rate = out[key];
    if (!(rate >= 0 && rate <= 1)) throw new ConfigError(`instruction task: ${what}.${key} must be a share in [0, 1], got ${rate}`);
  }
  return out;
}

/** Uniforms `withSurfaceFlaws` reads. */
export const FLAW_UNIFORMS = 4;

/** A phrase of `phrases` picked by the uniform `u` in [0, 1). */
const phraseAt = (phrases: readonly string[], u: number) => phrases[Math.min(phrases.length - 1, Math.floor(u * phrases.length))]!;

/**
 * `answer` with its flaws, drawn from four uniforms: a lead-in when u[0] < leadIn (the phrase
 * picked by u[1]), junk after it when u[2] < trailingJunk (picked by u[3]). A text longer than
 * `maxLength` loses its lead-in, then its junk: a demonstration the policy cannot finish
 * within its token budget would teach it to run on.
 */
export function withSurfaceFlaws(answer: string, rates: SurfaceFlawRates, u: ArrayLike<number>, maxLength = Infinity): string {
  let leadIn = u[0]! < rates.leadIn ? phraseAt(LEAD_IN_PHRASES, u[1]!) : '';
  let junk = u[2]! < rates.trailingJunk ? phraseAt(TRAILING_JUNK, u[3]!) : '';
  if ((leadIn + answer + junk).length > maxLength) leadIn = '';
  if ((answer + junk).length > maxLength) junk = '';
  return leadIn + answer + junk;
}

/** @deprecated The first of LEAD_IN_PHRASES, the one lead-in demonstrations used to have. */
export const ANSWER_LEAD_IN = LEAD_IN_PHRASES[0]!;
