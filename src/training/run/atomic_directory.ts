// Directories of a run folder written as one unit: filled under `<name>.tmp/`, then renamed
// to `<name>/`. A crash leaves either no `<name>/` or a whole one, never a partial one.
//
//   <name>.tmp/   being written, or left by a crash: incomplete by definition, removed on resume
//   <name>.old/   the previous <name>/ while a replacement is committed: put back if <name>/
//                 is missing (a crash between the two renames), removed otherwise
import type { RunStorage } from './run_storage.js';

export const TMP_SUFFIX = '.tmp';
export const OLD_SUFFIX = '.old';

/**
 * Writes directory `name` (at the top of the run folder): `fill(dir)` writes the files into
 * `dir` (= `name.tmp`), which is then synced and renamed to `name`, replacing an existing
 * `name` through `name.old`. When `fill` throws, the .tmp is removed and `name` is untouched.
 */
export async function writeDirectoryAtomically(storage: RunStorage, name: string, fill: (dir: string) => Promise<void>): Promise<void> {
  const tmp = name + TMP_SUFFIX;
  await storage.remove(tmp); // a crash's leftover
  await storage.mkdirp(tmp);
  try {
    await fill(tmp);
    await storage.sync(tmp);
  } catch (e) {
    await storage.remove(tmp).catch(() => {});
    throw e;
  }
  const old = name + OLD_SUFFIX;
  const present = new Set((await storage.list('')) ?? []);
  if (present.has(name)) {
    await storage.remove(old);
    await storage.rename(name, old);
  }
  await storage.rename(tmp, name);
  await storage.sync('');
  await storage.remove(old);
}

/**
 * Removes a directory so that a crash in the middle cannot leave it looking complete: it is
 * renamed to `name.tmp` (one atomic step) before its files go.
 */
export async function removeDirectoryAtomically(storage: RunStorage, name: string): Promise<void> {
  const tmp = name + TMP_SUFFIX;
  await storage.remove(tmp);
  await storage.rename(name, tmp);
  await storage.sync('');
  await storage.remove(tmp);
}

/**
 * Finishes what a crash interrupted, for the top-level names `isOurs` accepts: puts back a
 * `.old` whose directory is missing, then removes every `.tmp` and remaining `.old`.
 * Returns the names removed.
 */
export async function recoverDirectories(storage: RunStorage, isOurs: (name: string) => boolean): Promise<string[]> {
  const names = (await storage.list('')) ?? [];
  const present = new Set(names);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.endsWith(OLD_SUFFIX)) continue;
    const base = name.slice(0, -OLD_SUFFIX.length);
    if (!isOurs(base)) continue;
    if (present.has(base)) {
      await storage.remove(name);
      removed.push(name);
    } else {
      await storage.rename(name, base);
      present.add(base);
    }
  }
  for (const name of names) {
    if (!name.endsWith(TMP_SUFFIX) || !isOurs(name.slice(0, -TMP_SUFFIX.length))) continue;
    await storage.remove(name);
    removed.push(name);
  }
  if (removed.length) await storage.sync('');
  return removed;
}
