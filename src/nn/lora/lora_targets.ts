// Which linear maps an adapter adapts, found as PEFT finds them: by the module's name in the
// transformers model (model.layers.0.self_attn.q_proj; GPT-2's transformer.h.0.attn.c_attn).
import { ConfigError } from '../../errors.js';
import type { Architecture } from '../architecture.js';
import { attentionLinears, mlpLinears, type DecoderRefs, type LinearRef } from '../decoder_tensors.js';
import { DEFAULT_TARGET_MODULES, type LoraConfig } from './lora_config.js';

/** One adapted linear map: its transformers module name and its weights' role. */
export interface LoraTarget {
  module: string;
  ref: LinearRef;
}

/**
 * A tensor's name in the transformers model's state dict: GPT-2's checkpoints drop the
 * `transformer.` prefix its modules carry (webrlhf names tensors as the checkpoint does;
 * checkpointTensorName is the inverse).
 */
export function transformersName(arch: Pick<Architecture, 'modelType'>, name: string): string {
  const head = name.startsWith('score.') || name.startsWith('v_head.') || name.startsWith('lm_head.');
  return arch.modelType === 'gpt2' && !head ? `transformer.${name}` : name;
}

/** The module a weight belongs to: its name without `.weight`. */
const moduleOf = (arch: Pick<Architecture, 'modelType'>, weight: string) => transformersName(arch, weight).replace(/\.weight$/, '');

/** Every linear map in the decoder's blocks, in order, with its module name: what "all-linear" adapts. */
export function linearModules(arch: Architecture, refs: DecoderRefs): LoraTarget[] {
  return refs.blocks.flatMap((b) => [...attentionLinears(b), ...mlpLinears(b)].map((ref) => ({ module: moduleOf(arch, ref.weight), ref })));
}

/**
 * Does PEFT's rule pick `module`? A list picks a module equal to an entry or ending in
 * "." + entry; a string is a regular expression the whole name must match.
 */
export function moduleMatches(target: string | readonly string[], module: string): boolean {
  if (typeof target === 'string') return new RegExp(`^(?:${target})$`).test(module);
  return target.some((t) => module === t || module.endsWith(`.${t}`));
}

/**
 * The linear maps an adapter of `config` adapts. "all-linear" is every block's linear map
 * (never the output layer, as PEFT); null is PEFT's default for the family. A list entry
 * that picks no module is a ConfigError naming it, as is a rule that picks nothing or picks
 * a module webrlhf cannot adapt (the LM head, embeddings, norms).
 */
export function loraTargets(arch: Architecture, refs: DecoderRefs, config: Pick<LoraConfig, 'target_modules'>): LoraTarget[] {
  const linears = linearModules(arch, refs);
  const rule = config.target_modules === null ? DEFAULT_TARGET_MODULES[arch.modelType] : config.target_modules;
  if (rule === 'all-linear') return linears;
  const chosen = linears.filter((t) => moduleMatches(rule, t.module));
  const leafNames = [...new Set(linears.map((t) => t.module.slice(t.module.lastIndexOf('.') + 1)))].join(', ');
  const unsupported = [transformersName(arch, refs.embed), 'lm_head', 'score', 'v_head'].map((n) => n.replace(/\.weight$/, ''));
  if (Array.isArray(rule)) {
    for (const entry of rule) {
      if (linears.some((t) => moduleMatches([entry], t.module))) continue;
      const why = unsupported.some((u) => moduleMatches([entry], u))
        ? `${entry} is not a linear map inside the blocks; LoRA adapts those only (train a head with modules_to_save)`
        : `no module of this ${arch.className} is named ${entry} or ends in .${entry}`;
      throw new ConfigError(`target_modules: ${why}; its linear maps are ${leafNames}`);
    }
  }
  if (chosen.length === 0) throw new ConfigError(`target_modules ${JSON.stringify(rule)} matches no linear map of this ${arch.className}; its linear maps are ${leafNames} (or use "all-linear")`);
  return chosen;
}
