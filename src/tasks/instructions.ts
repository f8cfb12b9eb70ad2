// The built-in instruction-following task of RLP (ALGORITHMS.md §4): short instructions of a
// few kinds with short answers, drawn from Philox under a seed, and the AlpacaFarm-style
// splits — SFT demonstrations, preference prompts, unlabeled prompts, and evaluation prompts
// with the outputs of a simulated reference model (AlpacaFarm's text-davinci-003: good but
// imperfect, so a policy can beat it). The gold annotator is instruction_annotator.ts.
import type { SFTRecord } from '../data/records.js';
import { ConfigError } from '../errors.js';
import { philoxUniforms } from '../random/philox.js';
import { DEFAULT_DEMO_FLAWS, DEFAULT_REFERENCE_FLAWS, flawRates, withSurfaceFlaws, type SurfaceFlawRates } from './instruction_flaws.js';
import { INSTRUCTION_KINDS, KIND_SPECS, picker, type InstructionKind, type InstructionPayloads, type KindSpec } from './instruction_kinds.js';

/** One instruction: `prompt` is what a model continues; `payload` is what judging it needs. */
export type InstructionExample = {
  [K in InstructionKind]: {
    kind: K;
    /** The instruction and a newline ("Sort ascending: 31 7 19\n"); under 60 characters. */
    prompt: string;
    payload: InstructionPayloads[K];
    /** The canonical best response ("7 19 31"); under 24 characters. */
    answer: string;
  };
}[InstructionKind];

/** A kind's rules, typed for an example of that kind. */
export function specOf<E extends InstructionExample>(example: E): KindSpec<E['payload']> {
  return KIND_SPECS[example.kind] as KindSpec<E['payload']>;
}

/** Uniforms per draw (an example, a reference, a demonstration's variant): far more than any uses. */
const BLOCK = 64;
/** Philox offsets (counter word 1) keeping the task's streams apart (3 is the labeller's, instruction_labels.ts). */
const OFFSET = { example: 0, reference: 1, demonstration: 2, referenceFlaws: 4 } as const;

function uniforms(seed: number, index: number, offset: number): Float32Array {
  return philoxUniforms(BLOCK, { seed, stream: index * BLOCK, offset });
}

function checkKinds(kinds: readonly InstructionKind[] | undefined): readonly InstructionKind[] {
  const chosen = kinds ?? INSTRUCTION_KINDS;
  const unknown = chosen.filter((k) => !INSTRUCTION_KINDS.includes(k));
  if (!chosen.length || unknown.length) {
    throw new ConfigError(`instruction task: kinds must be a non-empty list of ${INSTRUCTION_KINDS.join(', ')}; got ${JSON.stringify(chosen)}`);
  }
  return chosen;
}

function checkCount(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`instruction task: ${name} must be a whole number ≥ 0, got ${n}`);
}

/** Draw `index` of the seed's sequence: kinds take turns (index mod the number of kinds), so every split is balanced. */
function exampleAt(seed: number, index: number, kinds: readonly InstructionKind[]): InstructionExample {
  const kind = kinds[index % kinds.length]!;
  const spec = KIND_SPECS[kind] as KindSpec<unknown>;
  const payload = spec.draw(picker(uniforms(seed, index, OFFSET.example)));
  return { kind, prompt: `${spec.instruction(payload)}\n`, payload, answer: spec.answer(payload) } as InstructionExample;
}

/**
 * `count` instructions drawn under `seed` (draw i from Philox stream i·64, kinds in turn), the
 * same everywhere; `first` skips that many draws. Prompts may repeat (instructionSplits drops
 * repeats).
 */
export function generateInstructions(o: { seed: number; count: number; kinds?: readonly InstructionKind[]; first?: number }): InstructionExample[] {
  const kinds = checkKinds(o.kinds);
  checkCount('count', o.count);
  const first = o.first ?? 0;
  checkCount('first', first);
  return Array.from({ length: o.count }, (_, i) => exampleAt(o.seed, first + i, kinds));
}

/** How often the simulated reference model answers right, by default (AlpacaFarm's reference is good, not perfect). */
export const DEFAULT_REFERENCE_QUALITY = 0.65;

/**
 * The simulated reference model: the canonical answer with probability `quality`, else the
 * kind's plausible mistake (a swapped pair, a count one off, a missed item, …), which the gold
 * annotator gives partial credit; right or wrong, with the surface flaws `flaws` (default
 * DEFAULT_REFERENCE_FLAWS: a lead-in, junk after it). Seeded by (seed, index).
 */
export function referenceOutput(example: InstructionExample, o: { seed: number; index: number; quality?: number; flaws?: Partial<SurfaceFlawRates> }): string {
  const quality = o.quality ?? DEFAULT_REFERENCE_QUALITY;
  if (!(quality >= 0 && quality <= 1)) throw new ConfigError(`instruction task: referenceQuality must be in [0, 1], got ${quality}`);
  const flaws = flawRates('referenceFlaws', o.flaws, DEFAULT_REFERENCE_FLAWS);
  const u = uniforms(o.seed, o.index, OFFSET.reference);
  const answer = u[0]! < quality ? example.answer : specOf(example).mistake(example.payload, picker(u.subarray(1)));
  return withSurfaceFlaws(answer, flaws, uniforms(o.seed, o.index, OFFSET.referenceFlaws));
}

/** Share of list demonstrations written comma-separated: as right as the canonical form. */
const DEMO_COMMA_LISTS = 0.25;

/**
 * A demonstration: the canonical answer, a quarter of list answers comma-separated ("7, 19,
 * 31", as right as "7 19 31"), with the surface flaws `flaws` (a lead-in, junk after the
 * answer: right, but graded down; none that would make it longer than `maxLength`), so the
 * SFT policy writes variants and flaws that the reward model can learn to rank. `variants`
 * false: the canonical answer alone.
 */
function demonstration(example: InstructionExample, seed: number, index: number, variants: boolean, flaws: SurfaceFlawRates, maxLength: number): SFTRecord {
  if (!variants) return { prompt: example.prompt, completion: example.answer };
  const u = uniforms(seed, index, OFFSET.demonstration);
  const list = !specOf(example).single;
  const answer = list && u[0]! < DEMO_COMMA_LISTS ? example.answer.split(' ').join(', ') : example.answer;
  return { prompt: example.prompt, completion: withSurfaceFlaws(answer, flaws, u.subarray(1), maxLength) };
}

export interface InstructionSplits {
  /** Demonstrations: the prompt and its canonical answer (some in an acceptable variant). */
  sft: SFTRecord[];
  /** Prompts the pipeline samples response pairs on, to be labelled by the annotator. */
  preference: InstructionExample[];
  /** Prompts for RLP's policy samples (UML views, SPG clusters) and for PPO rollouts. */
  unlabeled: InstructionExample[];
  /** Held-out prompts with the reference outputs a policy's win-rate is measured against. */
  eval: { example: InstructionExample; reference: string }[];
}

export interface InstructionSplitOptions {
  seed: number;
  sft: number;
  preference: number;
  unlabeled: number;
  eval: number;
  kinds?: readonly InstructionKind[];
  /** Probability that a reference output is the canonical answer (default 0.65). */
  referenceQuality?: number;
  /** Demonstrations in acceptable variants and with surface flaws too (default true); false: canonical answers only. */
  demoVariants?: boolean;
  /** The demonstrations' surface flaws (default DEFAULT_DEMO_FLAWS: 50 % lead-ins, 30 % trailing junk). */
  demoFlaws?: Partial<SurfaceFlawRates>;
  /** Longest demonstration with flaws (default no limit): a longer one loses its lead-in, then its junk (the RLP source: max_new_tokens − 1, room for EOS). */
  demoMaxLength?: number;
  /** The reference outputs' surface flaws (default DEFAULT_REFERENCE_FLAWS). */
  referenceFlaws?: Partial<SurfaceFlawRates>;
}

/**
 * The four splits, with no prompt in two of them: draws go in order through the seed's
 * sequence, and a prompt already taken is skipped, so each split has exactly its count.
 */
export function instructionSplits(o: InstructionSplitOptions): InstructionSplits {
  const kinds = checkKinds(o.kinds);
  for (const name of ['sft', 'preference', 'unlabeled', 'eval'] as const) checkCount(name, o[name]);
  const demoFlaws = flawRates('demoFlaws', o.demoFlaws, DEFAULT_DEMO_FLAWS);
  const demoMaxLength = o.demoMaxLength ?? Infinity;
  if (!(demoMaxLength >= 0)) throw new ConfigError(`instruction task: demoMaxLength must be a length ≥ 0, got ${demoMaxLength}`);
  flawRates('referenceFlaws', o.referenceFlaws, DEFAULT_REFERENCE_FLAWS);
  const total = o.sft + o.preference + o.unlabeled + o.eval;
  // Generous: repeats are rare unless the kinds asked for have few distinct prompts.
  const maxDraws = 4 * total + 1000;
  const seen = new Set<string>();
  let next = 0;
  const take = (count: number): InstructionExample[] => {
    const out: InstructionExample[] = [];
    while (out.length < count) {
      if (next >= maxDraws) {
        throw new ConfigError(`instruction task: only ${seen.size} distinct prompts in ${maxDraws} draws of kinds ${kinds.join(', ')}; ask for fewer than ${total} examples or allow more kinds`);
      }
      const example = exampleAt(o.seed, next++, kinds);
      if (seen.has(example.prompt)) continue;
      seen.add(example.prompt);
      out.push(example);
    }
    return out;
  };
  const demos = take(o.sft);
  const preference = take(o.preference);
  const unlabeled = take(o.unlabeled);
  const evalExamples = take(o.eval);
  const variants = o.demoVariants ?? true;
  return {
    sft: demos.map((e, i) => demonstration(e, o.seed, i, variants, demoFlaws, demoMaxLength)),
    preference,
    unlabeled,
    eval: evalExamples.map((example, index) => ({ example, reference: referenceOutput(example, { seed: o.seed, index, quality: o.referenceQuality, flaws: o.referenceFlaws }) })),
  };
}
