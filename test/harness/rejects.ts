// uvu has no assert.rejects: the promise must reject with an error `check` accepts.
import * as assert from 'uvu/assert';

export async function rejectsWith(p: Promise<unknown>, check: (e: unknown) => boolean, what: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!check(e)) assert.unreachable(`${what}: unexpected error ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    return;
  }
  assert.unreachable(`${what}: did not throw`);
}

/** An error of `type` whose message matches every pattern. */
export function errorOf(type: abstract new (...a: never[]) => Error, ...patterns: RegExp[]): (e: unknown) => boolean {
  return (e) => e instanceof type && patterns.every((re) => re.test(e.message));
}
