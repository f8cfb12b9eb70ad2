// Prompts as the RL trainers sample from them (PPO, GRPO, RLOO): token ids that leave room for
// the completion in the model's positions.
import { ConfigError } from '../errors.js';
import type { Tokenizer } from '../text/tokenizer.js';

/**
 * Each prompt's ids, cut to its last `maxPositions − completionLength` tokens (the part next
 * to the completion); an empty prompt becomes [BOS] (else [fallback]). Throws ConfigError when
 * the completion leaves no room for a prompt.
 */
export function promptIds(tokenizer: Tokenizer, prompts: readonly string[], o: { maxPositions: number; completionLength: number; lengthKey: string; trainer: string; fallback: number }): number[][] {
  const room = o.maxPositions - o.completionLength;
  if (room < 1) throw new ConfigError(`${o.trainer}: ${o.lengthKey} ${o.completionLength} leaves no room for a prompt in the model's ${o.maxPositions} positions; lower ${o.lengthKey}`);
  return prompts.map((p) => {
    const ids = tokenizer.encode(p);
    return ids.length ? ids.slice(Math.max(0, ids.length - room)) : [tokenizer.bosTokenId ?? o.fallback];
  });
}
