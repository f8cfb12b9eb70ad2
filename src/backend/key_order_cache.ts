/**
 * What a kernel call derives from the names of its arguments (which parameter, binding or
 * uniform field each is), kept for the key order it was derived from. A call site builds its
 * argument object the same way every time, so the names are checked and matched once per call
 * site, and each call then takes the values by position (Object.values): looking properties
 * up by a varying name is slow in JavaScript (~10 µs for a matmul's 17 arguments).
 */
export class KeyOrderCache<T> {
  #keys: readonly string[] | undefined;
  #layout: T | undefined;

  /** `derive` checks the names (throwing for a missing or unknown one) and returns the layout. */
  constructor(private readonly derive: (keys: readonly string[]) => T) {}

  layout(keys: readonly string[]): T {
    if (!sameKeys(keys, this.#keys)) {
      this.#layout = this.derive(keys);
      this.#keys = keys;
    }
    return this.#layout!;
  }
}

function sameKeys(a: readonly string[], b: readonly string[] | undefined): boolean {
  if (!b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
