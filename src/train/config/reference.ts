// The config reference of docs/CONFIG.md, generated from the schemas so the docs cannot drift
// from the code (scripts/config_docs.mjs writes it; a test compares).
import { describeConfig } from './describe.js';
import type { ConfigSchema, KeySpec } from './schema.js';
import { TRAINER_CONFIGS } from './trainers.js';

/**
 * Markdown: one table of the keys every trainer shares (same default, same meaning), then a
 * table per trainer of the rest (its learning rate, output_dir, its own keys) and its presets.
 */
export function configReference(): string {
  const schemas = Object.entries(TRAINER_CONFIGS as Record<string, ConfigSchema<object>>).map(([command, schema]) => ({
    command,
    schema,
    keys: schema.keys as Record<string, KeySpec>,
  }));
  const first = schemas[0]!.keys;
  const same = (a: KeySpec | undefined, b: KeySpec) => a !== undefined && a.doc === b.doc && a.default === b.default;
  const shared = Object.keys(first).filter((k) => schemas.every((s) => same(s.keys[k], first[k]!)));
  const parts = ['### Keys of every trainer', '', describeConfig(schemas[0]!.schema, { markdown: true, keys: shared })];
  for (const { command, schema, keys } of schemas) {
    const own = Object.keys(keys).filter((k) => !shared.includes(k));
    parts.push('', `### webrlhf ${command} (${schema.name} config)`, '', describeConfig(schema, { markdown: true, keys: own }));
  }
  return parts.join('\n');
}
