// Which settings of a resumed run differ from the ones it was started with (its config.json),
// so a trainer can refuse, or warn about, a resume under changed settings.

/** One setting that differs: `key` is a dotted path ("optimizer.lr"); a side lacking it is undefined. */
export interface ConfigDifference {
  key: string;
  saved: unknown;
  current: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The settings that differ between `saved` (a run's config.json) and `current`, compared as
 * JSON (so `current` is taken as it would be saved: undefined values are absent), in the
 * order of `saved`'s keys and then `current`'s new ones. Objects are compared key by key;
 * arrays and other values as a whole.
 */
export function configDifferences(saved: unknown, current: unknown): ConfigDifference[] {
  const out: ConfigDifference[] = [];
  const visit = (a: unknown, b: unknown, path: string) => {
    if (isObject(a) && isObject(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) visit(a[key], b[key], path ? `${path}.${key}` : key);
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ key: path, saved: a, current: b });
  };
  // A round trip through JSON makes `current` what config.json would hold.
  visit(saved, current === undefined ? undefined : JSON.parse(JSON.stringify(current)), '');
  return out;
}
