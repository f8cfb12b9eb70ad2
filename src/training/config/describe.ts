// A config's keys as text, for --help and the docs: type, default and what each key does.
import { describeType, showValue, type ConfigSchema, type KeySpec } from './schema.js';

export interface DescribeConfigOptions {
  /** A Markdown table (docs/CONFIG.md) instead of plain text (--help). */
  markdown?: boolean;
  /** Only these keys (in the schema's order); default all. */
  keys?: readonly string[];
}

function presetLines<T extends object>(schema: ConfigSchema<T>): string[] {
  if (!schema.presets) return [];
  return Object.entries(schema.presets.values).map(
    ([name, values]) => `${name}: ${Object.entries(values as object).map(([k, v]) => `${k} ${showValue(v)}`).join(', ')}`,
  );
}

/**
 * Every key of the config with its type, default and doc; then the presets, each with the
 * defaults it sets. Plain text lists one key per entry (its doc indented below); Markdown is
 * a table.
 */
export function describeConfig<T extends object>(schema: ConfigSchema<T>, options: DescribeConfigOptions = {}): string {
  const entries = Object.entries(schema.keys as Record<string, KeySpec>).filter(([k]) => !options.keys || options.keys.includes(k));
  const presets = presetLines(schema);
  if (options.markdown) {
    const cell = (s: string) => s.replaceAll('|', '\\|');
    const rows = entries.map(([k, s]) => `| \`${k}\` | ${cell(describeType(s))} | \`${cell(showValue(s.default))}\` | ${cell(s.doc)} |`);
    const table = ['| key | type | default | what it does |', '| --- | --- | --- | --- |', ...rows].join('\n');
    if (!presets.length) return table;
    return `${table}\n\nPresets (\`${schema.presets!.key}\`; keys set in the file or on the command line win):\n\n${presets.map((p) => `- ${p}`).join('\n')}`;
  }
  const lines = [`${schema.name} config keys (in a JSON config file, or as --key value flags):`];
  for (const [k, s] of entries) {
    const aliases = s.flags?.length ? ` (also --${s.flags.join(', --')})` : '';
    lines.push(`  ${k}${aliases}: ${describeType(s)}; default ${showValue(s.default)}`, `      ${s.doc}`);
  }
  if (presets.length) {
    lines.push('', `Presets (${schema.presets!.key}), which set these defaults; keys set in the file or on the command line win:`);
    lines.push(...presets.map((p) => `  ${p}`));
  }
  return lines.join('\n');
}
