// A small schema for trainer configs: each key has a type, a default, an allowed range and a
// one-line doc. Configs arrive as layers (defaults < preset < config file < command-line
// flags, or the options object a library user passes); every layer is checked against the
// schema before it is merged, so an error names the key and where the bad value came from.
import { ConfigError } from '../../errors.js';
import { closest } from './suggest.js';

/** A value's type; the list types are JSON arrays in a file and comma-separated on the command line. */
export type ValueType = 'number' | 'integer' | 'string' | 'boolean' | 'number[]' | 'string[]';

/** One config key. */
export interface KeySpec {
  /** The type of the value; several when a key takes either (resume_from_checkpoint: true, or a path). */
  readonly type: ValueType | readonly ValueType[];
  /** For strings: the only values allowed (an enum). */
  readonly values?: readonly string[];
  /** Whether null is a value of the key (meaning "unset": its doc says what happens then). */
  readonly nullable?: boolean;
  /** The value when no layer sets it. */
  readonly default: unknown;
  /** For numbers: the bounds, inclusive unless marked exclusive. */
  readonly min?: number;
  readonly max?: number;
  readonly minExclusive?: boolean;
  readonly maxExclusive?: boolean;
  /** One line: what the key does and where its default comes from. */
  readonly doc: string;
  /** Other spellings accepted on the command line (without "--"), e.g. "resume". */
  readonly flags?: readonly string[];
}

/** A config: its keys, named presets of defaults, and checks between keys. */
export interface ConfigSchema<T extends object> {
  /** Names the config in messages and help, e.g. "SFT". */
  readonly name: string;
  readonly keys: { readonly [K in keyof T]-?: KeySpec };
  /** Named sets of defaults; the key `key` picks one, and values a layer sets win over it. */
  readonly presets?: { readonly key: keyof T & string; readonly values: Readonly<Record<string, Partial<T>>> };
  /** Checks that involve several keys, on the merged config; throws ConfigError. */
  readonly check?: (config: T, source: string) => void;
}

// ---------------------------------------------------------------------------------------------
// Key builders: the schemas read as a table.

type Range = Pick<KeySpec, 'min' | 'max' | 'minExclusive' | 'maxExclusive'>;
type Extra = Pick<KeySpec, 'nullable' | 'flags'>;

export const numberKey = (value: number | null, doc: string, range: Range & Extra = {}): KeySpec => ({ type: 'number', default: value, doc, ...range });
export const integerKey = (value: number | null, doc: string, range: Range & Extra = {}): KeySpec => ({ type: 'integer', default: value, doc, ...range });
export const stringKey = (value: string | null, doc: string, extra: Extra = {}): KeySpec => ({ type: 'string', default: value, doc, ...extra });
export const booleanKey = (value: boolean, doc: string, extra: Extra = {}): KeySpec => ({ type: 'boolean', default: value, doc, ...extra });
export const numberListKey = (value: number[] | null, doc: string, range: Range & Extra = {}): KeySpec => ({ type: 'number[]', default: value, doc, ...range });
export const stringListKey = (value: string[] | null, doc: string, extra: Extra = {}): KeySpec => ({ type: 'string[]', default: value, doc, ...extra });
export const enumKey = <V extends string>(values: readonly V[], value: V | null, doc: string, extra: Extra = {}): KeySpec => ({
  type: 'string',
  values,
  default: value,
  doc,
  ...extra,
});

// ---------------------------------------------------------------------------------------------
// Values

function types(spec: KeySpec): readonly ValueType[] {
  return typeof spec.type === 'string' ? [spec.type] : spec.type;
}

function rangeText(spec: KeySpec): string {
  const { min, max } = spec;
  if (min !== undefined && max !== undefined) return ` in ${spec.minExclusive ? '(' : '['}${min}, ${max}${spec.maxExclusive ? ')' : ']'}`;
  if (min !== undefined) return ` ${spec.minExclusive ? '>' : '≥'} ${min}`;
  if (max !== undefined) return ` ${spec.maxExclusive ? '<' : '≤'} ${max}`;
  return '';
}

/** What a key accepts, as messages and help say it: "an integer ≥ 1", "one of "k1", "k3" or null", "true, false or a string". */
export function describeType(spec: KeySpec): string {
  const parts = types(spec).flatMap((t) => {
    switch (t) {
      case 'number':
        return [`a number${rangeText(spec)}`];
      case 'integer':
        return [`an integer${rangeText(spec)}`];
      case 'boolean':
        return ['true', 'false'];
      case 'number[]':
        return [`a list of numbers${rangeText(spec).replace(/^ /, ', each ')}`];
      case 'string[]':
        return ['a list of strings'];
      case 'string':
        if (!spec.values) return ['a string'];
        return [spec.values.length === 1 ? JSON.stringify(spec.values[0]) : `one of ${spec.values.map((v) => JSON.stringify(v)).join(', ')}`];
    }
  });
  if (spec.nullable) parts.push('null');
  return parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')} or ${parts.at(-1)}`;
}

/** A number as people write it in configs: 2e-5 rather than 0.00002. */
export function formatNumber(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v);
}

/** A value as messages show it: JSON, cut short. */
export function showValue(v: unknown): string {
  if (typeof v === 'number') return formatNumber(v); // also NaN and Infinity, which JSON would show as null
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function inRange(spec: KeySpec, v: number): boolean {
  if (spec.min !== undefined && (spec.minExclusive ? v <= spec.min : v < spec.min)) return false;
  if (spec.max !== undefined && (spec.maxExclusive ? v >= spec.max : v > spec.max)) return false;
  return true;
}

function fits(spec: KeySpec, type: ValueType, v: unknown): boolean {
  switch (type) {
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) && inRange(spec, v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) && inRange(spec, v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string' && (!spec.values || spec.values.includes(v));
    case 'number[]':
      return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x) && inRange(spec, x));
    case 'string[]':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
  }
}

/** Whether `value` is a value of the key. */
export function isValidValue(spec: KeySpec, value: unknown): boolean {
  return (value === null && !!spec.nullable) || types(spec).some((t) => fits(spec, t, value));
}

/** Throws ConfigError unless `value` is a value of `key`. */
export function checkValue(key: string, spec: KeySpec, value: unknown, source: string): void {
  if (!isValidValue(spec, value)) throw new ConfigError(`${source}: "${key}" must be ${describeType(spec)}, got ${showValue(value)}`);
}

// ---------------------------------------------------------------------------------------------
// Layers

/** The key a name most likely meant, for "did you mean" (hyphens read as underscores). */
export function suggestKey<T extends object>(schema: ConfigSchema<T>, name: string): string | undefined {
  return closest(name.replaceAll('-', '_'), Object.keys(schema.keys));
}

/**
 * One layer of a config, checked: an object whose keys are keys of the schema, each with a
 * value of its type. Nothing is filled in. `source` names the layer in errors ("config.json").
 */
export function checkConfigLayer<T extends object>(schema: ConfigSchema<T>, input: unknown, source: string): Partial<T> {
  if (input === undefined) return {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(`${source}: the ${schema.name} config is an object of keys and values, got ${Array.isArray(input) ? 'an array' : showValue(input)}`);
  }
  const keys = schema.keys as Record<string, KeySpec>;
  for (const [key, value] of Object.entries(input)) {
    const spec = keys[key];
    if (!spec) {
      const guess = suggestKey(schema, key);
      throw new ConfigError(
        `${source}: unknown key "${key}"; ${guess ? `did you mean "${guess}"?` : `it is not a key of the ${schema.name} config (docs/CONFIG.md lists them)`}`,
      );
    }
    if (value !== undefined) checkValue(key, spec, value, source);
  }
  // Keys set to undefined (an options object's unset fields) are absent, not values.
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Every key's default, without a preset. */
export function schemaDefaults<T extends object>(schema: ConfigSchema<T>): T {
  return Object.fromEntries(Object.entries(schema.keys as Record<string, KeySpec>).map(([k, s]) => [k, s.default])) as T;
}

/**
 * The full config from checked layers, lowest first: the defaults, then the preset (named by
 * the last layer that sets the preset key, else the key's default), then each layer.
 * Runs the schema's checks between keys; `source` names the result in their errors.
 */
export function mergeConfig<T extends object>(schema: ConfigSchema<T>, layers: readonly Partial<T>[], source = `${schema.name} config`): T {
  const config = schemaDefaults(schema);
  if (schema.presets) {
    const key = schema.presets.key;
    let name = config[key] as unknown;
    for (const layer of layers) if (layer[key] !== undefined) name = layer[key];
    if (name !== null) {
      const preset = schema.presets.values[name as string];
      if (!preset) throw new ConfigError(`${source}: unknown preset ${showValue(name)}; the presets are ${Object.keys(schema.presets.values).join(', ')}`);
      Object.assign(config, preset);
    }
  }
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) (config as Record<string, unknown>)[k] = v;
  }
  schema.check?.(config, source);
  return config;
}

/** The full config from one input (an options object, parsed JSON), checked, with defaults and preset filled in. */
export function resolveConfig<T extends object>(schema: ConfigSchema<T>, input: unknown, source = `${schema.name} config`): T {
  return mergeConfig(schema, [checkConfigLayer(schema, input, source)], source);
}

/** Throws ConfigError naming each key that is still null, with how to set it. */
export function requireKeys<T extends object>(config: T, keys: readonly (keyof T & string)[], source: string): void {
  const missing = keys.filter((k) => config[k] === null || config[k] === undefined);
  if (missing.length) {
    const how = missing.map((k) => `"${k}" in the config file or --${k} on the command line`).join(', ');
    throw new ConfigError(`${source}: ${missing.map((k) => `"${k}"`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} required; set ${how}`);
  }
}
