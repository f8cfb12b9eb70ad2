// The config reference of docs/CONFIG.md, generated from the schemas so the docs cannot drift
// from the code (scripts/config_docs.mjs writes it; a test compares).
import { TRAINER_CONFIGS } from '../algorithms/trainer_configs.js';
import { describeConfig } from '../training/config/describe.js';
import type { ConfigSchema, KeySpec } from '../training/config/schema.js';
import { DEMO_RUN_CONFIG } from './demo/run_config.js';
import { RLMEC_RUN_CONFIG } from './rlmec/run_config.js';
import { RLP_RUN_CONFIG } from './rlp/run_config.js';

/**
 * Markdown: one table of the keys every trainer shares (same default, same meaning), then a
 * table per command of the rest (its learning rate, output_dir, its own keys) and its presets.
 */
export function configReference(): string {
  const commands = { ...TRAINER_CONFIGS, rlmec: RLMEC_RUN_CONFIG, rlp: RLP_RUN_CONFIG, demo: DEMO_RUN_CONFIG } as Record<string, ConfigSchema<object>>;
  const schemas = Object.entries(commands).map(([command, schema]) => ({
    command,
    schema,
    keys: schema.keys as Record<string, KeySpec>,
  }));
  const first = schemas[0]!.keys;
  const same = (a: KeySpec | undefined, b: KeySpec) => a !== undefined && a.doc === b.doc && a.default === b.default;
  // Shared: the keys the four trainers agree on; `webrlhf rlmec` and `webrlhf rlp` list wherever they differ.
  const trainers = schemas.filter((s) => s.command in TRAINER_CONFIGS);
  const shared = Object.keys(first).filter((k) => trainers.every((s) => same(s.keys[k], first[k]!)));
  const parts = ['### Keys of every trainer', '', describeConfig(schemas[0]!.schema, { markdown: true, keys: shared })];
  for (const { command, schema, keys } of schemas) {
    const own = Object.keys(keys).filter((k) => !shared.includes(k) || !same(keys[k], first[k]!));
    parts.push('', `### webrlhf ${command} (${schema.name} config)`, '', describeConfig(schema, { markdown: true, keys: own }));
  }
  return parts.join('\n');
}
