// Config keys as command-line flags: --learning_rate 1e-4 or --learning-rate 1e-4 (or
// --learning_rate=1e-4); a boolean alone (--completion_only_loss) is true and --no-... false.
import { ConfigError } from '../../errors.js';
import { checkValue, type ConfigSchema, type KeySpec, type ValueType } from './schema.js';
import { closest } from './suggest.js';

/** What layers parsed from flags are called in messages. */
export const COMMAND_LINE = 'command line';

export interface ConfigFlagsOptions {
  /** Flags that are not config keys but belong to the command (e.g. { config: 'string', help: 'boolean' }). */
  extra?: Readonly<Record<string, 'string' | 'boolean'>>;
}

export interface ConfigFlags<T> {
  /** The keys the flags set, checked: a layer for mergeConfig. */
  values: Partial<T>;
  /** The extra flags given, by the name they were declared with. */
  extra: Record<string, string | boolean>;
}

type Target = { key: string; spec: KeySpec } | { extra: string; kind: 'string' | 'boolean' };

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function typesOf(target: Target): readonly ValueType[] {
  if ('extra' in target) return [target.kind];
  return typeof target.spec.type === 'string' ? [target.spec.type] : target.spec.type;
}

/** A flag's text as a value of the key; text that fits no type stays a string, for checkValue to report. */
function parseText(spec: KeySpec, text: string): unknown {
  if (spec.nullable && /^(null|none)$/i.test(text)) return null;
  const types = typeof spec.type === 'string' ? [spec.type] : spec.type;
  for (const t of types) {
    if (t === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
    if ((t === 'number' || t === 'integer') && NUMBER.test(text)) return Number(text);
    if (t === 'string[]') return text.split(',').map((x) => x.trim()).filter((x) => x !== '');
    if (t === 'number[]') {
      const items = text.replace(/^\[|\]$/g, '').split(',').map((x) => x.trim());
      return items.every((x) => NUMBER.test(x)) ? items.map(Number) : text;
    }
  }
  return text;
}

/**
 * The config keys (and `extra` flags) set by command-line arguments, each value parsed by its
 * key's type and checked. Both spellings of a key work (learning_rate, learning-rate), and a
 * key's `flags` aliases. Values are the next argument or follow "="; a boolean needs none
 * (it may be followed by true or false), and --no-<key> sets it false. A key that takes a
 * boolean or a string (resume_from_checkpoint) is true alone, or takes the next argument.
 * Unknown flags, missing values and stray arguments are ConfigErrors.
 */
export function configFlags<T extends object>(schema: ConfigSchema<T>, argv: readonly string[], options: ConfigFlagsOptions = {}): ConfigFlags<T> {
  const targets = new Map<string, Target>();
  const add = (name: string, target: Target) => {
    targets.set(name, target);
    targets.set(name.replaceAll('_', '-'), target);
  };
  for (const [key, spec] of Object.entries(schema.keys as Record<string, KeySpec>)) {
    add(key, { key, spec });
    for (const alias of spec.flags ?? []) add(alias, { key, spec });
  }
  for (const [name, kind] of Object.entries(options.extra ?? {})) add(name, { extra: name, kind });

  const values: Record<string, unknown> = {};
  const extra: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--') || arg === '--') {
      throw new ConfigError(`${COMMAND_LINE}: unexpected argument ${JSON.stringify(arg)}; options take the form --key value or --key=value`);
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    let target = targets.get(name);
    let negated = false;
    if (!target && /^no[-_]/.test(name)) {
      const positive = targets.get(name.slice(3));
      if (positive && !typesOf(positive).includes('boolean')) {
        throw new ConfigError(`${COMMAND_LINE}: --${name}: --${name.slice(3)} is not true or false, so it has no --no- form; give it a value (--${name.slice(3)} VALUE)`);
      }
      target = positive;
      negated = positive !== undefined;
    }
    if (!target) {
      const guess = closest(name.replaceAll('-', '_'), [...new Set([...targets.keys()].filter((n) => !n.includes('-')))]);
      throw new ConfigError(`${COMMAND_LINE}: unknown option --${name}; ${guess ? `did you mean --${guess}?` : 'run the command with --help to list its options'}`);
    }

    const types = typesOf(target);
    const next = argv[i + 1];
    const nextIsValue = next !== undefined && !next.startsWith('--');
    let text: string | undefined;
    let value: unknown;
    if (negated) {
      if (inline !== undefined) throw new ConfigError(`${COMMAND_LINE}: --${name} takes no value; it sets --${name.slice(3)} to false`);
      value = false;
    } else if (inline !== undefined) {
      text = inline;
    } else if (types.length === 1 && types[0] === 'boolean') {
      if (next === 'true' || next === 'false') text = argv[++i];
      else value = true;
    } else if (types.includes('boolean')) {
      if (nextIsValue) text = argv[++i];
      else value = true;
    } else if (nextIsValue) {
      text = argv[++i];
    } else {
      throw new ConfigError(`${COMMAND_LINE}: --${name} needs a value (--${name} VALUE or --${name}=VALUE)`);
    }

    if ('extra' in target) {
      if (text !== undefined && target.kind === 'boolean' && text !== 'true' && text !== 'false') {
        throw new ConfigError(`${COMMAND_LINE}: --${name} is true or false, got ${JSON.stringify(text)}`);
      }
      extra[target.extra] = text === undefined ? (value as boolean) : target.kind === 'boolean' ? text === 'true' : text;
      continue;
    }
    if (text !== undefined) value = parseText(target.spec, text);
    checkValue(target.key, target.spec, value, COMMAND_LINE);
    values[target.key] = value;
  }
  return { values: values as Partial<T>, extra };
}
