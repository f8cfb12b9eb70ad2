// The CLI's reward_funcs: each entry a built-in (accuracy, format:REGEX, soft_overlong[:CACHE],
// repetition[:N[:PENALTY]]), a module file (./rewards.mjs: its exported functions;
// ./rewards.mjs#name: one of them), or a model folder with a score head.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { accuracyReward, formatReward, modelReward, repetitionPenalty, softOverlongPunishment } from '../algorithms/grpo/builtin_rewards.js';
import type { RewardFunc } from '../algorithms/grpo/reward_funcs.js';
import type { Backend } from '../backend/backend.js';
import { ConfigError } from '../errors.js';
import { loadModel } from '../io/pretrained_model.js';
import { importRewardFuncs } from '../io/reward_module.js';
import type { CausalLM } from '../nn/causal_lm.js';
import { loadTokenizer } from '../text/tokenizer_files.js';

const FORMS = 'accuracy, format:REGEX, soft_overlong[:CACHE], repetition[:N[:PENALTY]], a module file (./rewards.mjs or ./rewards.mjs#name) or a reward model folder';

/** The functions the entries name, and the reward models loaded for them (the caller disposes those). */
export async function rewardFuncsArg(entries: readonly string[], o: { backend: Backend; maxCompletionLength: number }): Promise<{ funcs: RewardFunc[]; models: CausalLM[] }> {
  const funcs: RewardFunc[] = [];
  const models: CausalLM[] = [];
  try {
    for (const entry of entries) funcs.push(...(await resolveEntry(entry, o, models)));
  } catch (e) {
    for (const m of models) m.dispose();
    throw e;
  }
  return { funcs, models };
}

async function resolveEntry(entry: string, o: { backend: Backend; maxCompletionLength: number }, models: CausalLM[]): Promise<RewardFunc[]> {
  const [name, ...args] = entry.split(':');
  const numbers = (what: string) => args.map((a) => {
    if (!/^-?\d+(\.\d+)?$/.test(a)) throw new ConfigError(`reward_funcs: ${JSON.stringify(entry)}: ${what} must be numbers, got ${JSON.stringify(a)}`);
    return Number(a);
  });
  switch (name) {
    case 'accuracy':
      return [accuracyReward];
    case 'format':
      if (!args.length) throw new ConfigError('reward_funcs: format needs a regular expression after a colon, e.g. "format:^Step 1"');
      return [formatReward(args.join(':'))];
    case 'soft_overlong': {
      const [cache = Math.max(1, Math.floor(o.maxCompletionLength / 5))] = numbers('its cache length');
      return [softOverlongPunishment(o.maxCompletionLength, cache)];
    }
    case 'repetition': {
      const [n = 3, penalty = -1] = numbers('its n-gram size and penalty');
      return [repetitionPenalty(n, penalty)];
    }
  }
  const [path, exportName] = entry.split('#') as [string, string | undefined];
  const full = resolve(path);
  let kind: 'file' | 'folder' | undefined;
  try {
    const s = statSync(full);
    kind = s.isDirectory() ? 'folder' : s.isFile() ? 'file' : undefined;
  } catch {
    kind = undefined;
  }
  if (kind === 'file') return importRewardFuncs(pathToFileURL(full), exportName);
  if (kind === 'folder') {
    const model = await loadModel(o.backend, full);
    models.push(model);
    if (!model.heads.score) throw new ConfigError(`reward_funcs: the model folder ${path} has no score head (score.weight); give a reward model (a folder written by webrlhf reward)`);
    return [modelReward(model, await loadTokenizer(full), { name: path.replace(/[\\/]+$/, '').split(/[\\/]/).at(-1)! })];
  }
  throw new ConfigError(`reward_funcs: ${JSON.stringify(entry)} is neither a built-in nor an existing file or folder; each entry is ${FORMS}`);
}
