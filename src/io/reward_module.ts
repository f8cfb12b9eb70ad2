// Reward functions from a JavaScript module (the CLI's --reward_funcs ./rewards.mjs, or a
// Deno or Node program's own file): its exported functions, by a dynamic import that works in
// every runtime. A module is code the user wrote and runs with the program's rights, as TRL
// imports a Python reward module.
import { ConfigError } from '../errors.js';
import type { RewardFunc } from '../algorithms/grpo/reward_funcs.js';

/**
 * The reward functions a module exports: every exported function, in the module namespace's
 * order (sorted by export name), each named after its export; or only `name` (the part after
 * "#" in the CLI's ./rewards.mjs#name). Throws ConfigError when the module cannot be imported
 * or exports no such function.
 */
export async function importRewardFuncs(specifier: string | URL, name?: string): Promise<RewardFunc[]> {
  let module: Record<string, unknown>;
  try {
    module = (await import(/* @vite-ignore */ String(specifier))) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`reward module ${String(specifier)} could not be imported: ${(e as Error).message}`);
  }
  const exported = Object.entries(module).filter(([, v]) => typeof v === 'function') as [string, RewardFunc][];
  const picked = name === undefined ? exported : exported.filter(([k]) => k === name);
  if (!picked.length) {
    const have = exported.map(([k]) => k).join(', ') || 'none';
    throw new ConfigError(`reward module ${String(specifier)} exports no ${name === undefined ? 'functions' : `function named ${JSON.stringify(name)}`} (its exported functions: ${have})`);
  }
  // Each function reports under its export's name (rewards/<name>/mean), as TRL's __name__.
  return picked.map(([k, f]) => (k === 'default' || f.name === k ? f : Object.defineProperty((...a: Parameters<RewardFunc>) => f(...a), 'name', { value: k })));
}
