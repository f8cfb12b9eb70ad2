// Reward functions as TRL's GRPOTrainer and RLOOTrainer call them (ALGORITHMS.md §7), in
// JavaScript: f(prompts, completions, { completion_ids, trainer_state, ...datasetColumns })
// returns one reward per completion (sync or async). `null` means "does not apply" (left out
// of the weighted sum, as TRL's None). A function may instead return, per completion, one
// reward per completion token: a token-level reward, added to those tokens' advantages
// (RLMEC's GRM rewards are one: grmTokenReward).
import { RewardFunctionError } from '../../errors.js';

/** Where training is, for rewards that change with it (TRL passes its TrainerState). */
export interface RewardTrainerState {
  /** Optimizer steps completed. */
  global_step: number;
  max_steps: number;
}

/** The third argument: the completions' token ids, the trainer state, and every dataset column, one entry per completion. */
export interface RewardFuncKwargs {
  completion_ids: number[][];
  trainer_state: RewardTrainerState;
  [column: string]: unknown;
}

/** A completion's reward: a number, null (does not apply), or one number per completion token (token-level). */
export type RewardValue = number | null | readonly number[];

export type RewardFunc = (prompts: string[], completions: string[], kwargs: RewardFuncKwargs) => readonly RewardValue[] | Promise<readonly RewardValue[]>;

/** What the functions are called with: one entry per completion (a prompt appears once per generation). */
export interface RewardBatch {
  prompts: string[];
  completions: string[];
  completionIds: number[][];
  /** Each completion's dataset record (its prompt's), for the columns. */
  records: readonly Record<string, unknown>[];
  state: RewardTrainerState;
}

/** The functions' rewards for a batch. */
export interface FuncRewards {
  /** Per function, per completion: its reward, NaN where it returned null or is token-level. */
  sequence: Float64Array[];
  /** Per function: its per-token rewards (token-level functions), else undefined; null rows did not apply. */
  tokens: ((readonly number[] | null)[] | undefined)[];
}

/** The names the metrics use (rewards/<name>/mean): each function's own name, made unique; TRL's __name__. */
export function rewardFuncNames(funcs: readonly RewardFunc[]): string[] {
  const names = funcs.map((f, i) => (typeof f === 'function' && f.name ? f.name : `reward_${i}`));
  return names.map((n, i) => (names.indexOf(n) === i ? n : `${n}_${i}`));
}

/** Calls every function on the batch (the async ones concurrently) and checks what each returns. */
export async function callRewardFuncs(funcs: readonly RewardFunc[], batch: RewardBatch): Promise<FuncRewards> {
  const names = rewardFuncNames(funcs);
  const results = await Promise.all(funcs.map((f, k) => callOne(f, names[k]!, batch)));
  return { sequence: results.map((r) => r.sequence), tokens: results.map((r) => r.tokens) };
}

/** The kwargs of a sub-batch (the columns of `rows` only): what a function is called with. */
function kwargsOf(batch: RewardBatch, rows: readonly number[]): RewardFuncKwargs {
  const columns = new Set(batch.records.flatMap((r) => Object.keys(r)).filter((k) => k !== 'prompt' && k !== 'completion' && k !== 'completion_ids'));
  const kwargs: RewardFuncKwargs = { completion_ids: rows.map((i) => batch.completionIds[i]!), trainer_state: { ...batch.state } };
  for (const c of columns) kwargs[c] = rows.map((i) => batch.records[i]![c]);
  return kwargs;
}

async function invoke(f: RewardFunc, batch: RewardBatch, rows: readonly number[]): Promise<unknown> {
  return f(rows.map((i) => batch.prompts[i]!), rows.map((i) => batch.completions[i]!), kwargsOf(batch, rows));
}

const quote = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

async function callOne(f: RewardFunc, name: string, batch: RewardBatch): Promise<{ sequence: Float64Array; tokens?: (readonly number[] | null)[] }> {
  const n = batch.prompts.length;
  const all = Array.from({ length: n }, (_, i) => i);
  if (typeof f !== 'function') throw new RewardFunctionError(`reward function ${name} is ${f === null ? 'null' : typeof f}, not a function`, { func: name });
  let out: unknown;
  try {
    out = await invoke(f, batch, all);
  } catch (e) {
    throw await locateThrow(f, name, batch, e);
  }
  if (!Array.isArray(out)) throw new RewardFunctionError(`reward function ${name} returned ${describe(out)}; it must return an array of ${n} rewards (one per completion)`, { func: name });
  if (out.length !== n) {
    throw new RewardFunctionError(`reward function ${name} returned ${out.length} rewards for ${n} completions (first prompt ${quote(batch.prompts[0]!)}); return one per completion, null where it does not apply`, { func: name, prompt: batch.prompts[0]! });
  }
  const tokenLevel = out.some((v) => Array.isArray(v) || ArrayBuffer.isView(v));
  const sequence = new Float64Array(n).fill(NaN);
  const tokens: (readonly number[] | null)[] = [];
  out.forEach((v: unknown, i) => {
    const where = { func: name, index: i, prompt: batch.prompts[i]! };
    const bad = (what: string, fix: string) => new RewardFunctionError(`reward function ${name} returned ${what} for completion ${i} (prompt ${quote(batch.prompts[i]!)}); ${fix}`, where);
    if (v === null) {
      tokens.push(null);
      return;
    }
    if (tokenLevel) {
      if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw bad(describe(v), 'a function returns numbers (or null) for every completion, or per-token arrays (or null) for every completion, not both');
      const values = Array.from(v as ArrayLike<number>);
      const length = batch.completionIds[i]!.length;
      if (values.length !== length) throw bad(`${values.length} token rewards`, `it has ${length} tokens: return one reward per token of completion_ids[${i}]`);
      const k = values.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
      if (k >= 0) throw bad(`token reward ${describe(values[k])} at token ${k}`, 'token rewards must be finite numbers');
      tokens.push(values);
      return;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(describe(v), 'a reward must be a finite number, or null where the function does not apply');
    sequence[i] = v;
  });
  return tokenLevel ? { sequence, tokens } : { sequence };
}

/** A function that threw on the batch: called again one completion at a time, to name the first completion it throws on. */
async function locateThrow(f: RewardFunc, name: string, batch: RewardBatch, error: unknown): Promise<RewardFunctionError> {
  const message = error instanceof Error ? error.message : String(error);
  for (let i = 0; i < batch.prompts.length; i++) {
    try {
      await invoke(f, batch, [i]);
    } catch {
      return new RewardFunctionError(`reward function ${name} threw on completion ${i} (prompt ${quote(batch.prompts[i]!)}): ${message}`, { func: name, index: i, prompt: batch.prompts[i]! }, { cause: error });
    }
  }
  return new RewardFunctionError(`reward function ${name} threw on a batch of ${batch.prompts.length} completions (first prompt ${quote(batch.prompts[0]!)}): ${message}`, { func: name, prompt: batch.prompts[0]! }, { cause: error });
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `the string ${quote(v)}`;
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}
