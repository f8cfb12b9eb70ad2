// Where a run folder's files live: a directory (Node, Deno) or memory (browsers, tests).
// Paths are relative to the run folder and use "/"; "" is the folder itself.
import { ConfigError } from '../../errors.js';
import { joinPath } from '../../io/model_folder.js';
import { platform } from '../../runtime/platform.js';

/** The file operations a run folder needs: atomic replacement, appends, and directory renames. */
export interface RunStorage {
  /** Names the folder in messages, e.g. "directory runs/ppo" or "memory". */
  readonly location: string;
  /** A file's bytes, or undefined when it does not exist. */
  read(path: string): Promise<Uint8Array | undefined>;
  /** Replaces a file atomically and durably: a crash leaves the old file or the new one. */
  write(path: string, bytes: Uint8Array): Promise<void>;
  /** Appends to a file (created when missing). Not flushed: call sync() when it must survive a power cut. */
  append(path: string, bytes: Uint8Array): Promise<void>;
  /** The names in a directory, or undefined when there is no such directory. */
  list(dir: string): Promise<string[] | undefined>;
  /** Creates a directory and its parents. */
  mkdirp(dir: string): Promise<void>;
  /** Renames a file or a directory; `to` must not exist. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file or a directory tree; nothing when it does not exist. */
  remove(path: string): Promise<void>;
  /** Flushes a file, or a directory's entries, to disk (a no-op in memory). */
  sync(path: string): Promise<void>;
}

/** A run folder on the local filesystem (Node, Deno): a path or a file: URL. */
export function directoryRunStorage(where: string | URL): RunStorage {
  const path = typeof where === 'string' && where.startsWith('file:') ? new URL(where) : where;
  const fs = platform().fs;
  if (!fs) {
    throw new ConfigError(
      `cannot write a run folder to ${String(path)}: this runtime (a browser or Web Worker) has no filesystem. ` +
        'Pass memoryRunStorage() as the output folder and download its files when the run ends.',
    );
  }
  const at = (rel: string) => (rel === '' ? path : joinPath(path, rel));
  return {
    location: `directory ${typeof path === 'string' ? path : path.href}`,
    read: (rel) => fs.readFile(at(rel)),
    write: (rel, bytes) => fs.writeFileAtomic(at(rel), bytes),
    append: (rel, bytes) => fs.appendFile(at(rel), bytes),
    list: (rel) => fs.list(at(rel)),
    mkdirp: (rel) => fs.mkdirp(at(rel)),
    rename: (from, to) => fs.rename(at(from), at(to)),
    remove: (rel) => fs.remove(at(rel)),
    sync: (rel) => fs.sync(at(rel)),
  };
}

/** A run folder held in memory. `files` maps each file's path ("checkpoint-00000010/model.safetensors") to its bytes. */
export interface MemoryRunStorage extends RunStorage {
  readonly files: Map<string, Uint8Array>;
}

/**
 * A run folder in memory: for browsers (offer `files` as downloads when the run ends) and
 * tests. Behaves like a directory: renaming a directory moves everything under it, and
 * operations that a filesystem refuses (a missing source, an existing target) throw.
 */
export function memoryRunStorage(): MemoryRunStorage {
  const files = new Map<string, Uint8Array>();
  const dirs = new Set<string>(['']);
  const parent = (p: string) => p.slice(0, Math.max(0, p.lastIndexOf('/')));
  const under = (p: string, dir: string) => p.startsWith(`${dir}/`);
  const exists = (p: string) => files.has(p) || dirs.has(p);
  const missing = (op: string, p: string) => new Error(`memory run folder: ${op}: no such file or directory: ${p}`);
  const needParent = (op: string, p: string) => {
    if (!dirs.has(parent(p))) throw missing(op, parent(p));
  };
  return {
    location: 'memory',
    files,
    read: async (p) => files.get(p)?.slice(),
    write: async (p, bytes) => {
      needParent('write', p);
      files.set(p, bytes.slice());
    },
    append: async (p, bytes) => {
      needParent('append', p);
      const old = files.get(p) ?? new Uint8Array(0);
      const joined = new Uint8Array(old.length + bytes.length);
      joined.set(old);
      joined.set(bytes, old.length);
      files.set(p, joined);
    },
    list: async (dir) => {
      if (!dirs.has(dir)) return undefined;
      const names = new Set<string>();
      for (const p of [...files.keys(), ...dirs]) {
        const rest = dir === '' ? p : under(p, dir) ? p.slice(dir.length + 1) : undefined;
        if (rest) names.add(rest.split('/')[0]!);
      }
      return [...names];
    },
    mkdirp: async (dir) => {
      for (let d = dir; d !== '' && !dirs.has(d); d = parent(d)) dirs.add(d);
    },
    rename: async (from, to) => {
      if (!exists(from)) throw missing('rename', from);
      if (exists(to)) throw new Error(`memory run folder: rename: ${to} exists`);
      needParent('rename', to);
      const move = (p: string) => (p === from ? to : `${to}${p.slice(from.length)}`);
      for (const [p, bytes] of [...files]) {
        if (p === from || under(p, from)) {
          files.delete(p);
          files.set(move(p), bytes);
        }
      }
      for (const d of [...dirs]) {
        if (d === from || under(d, from)) {
          dirs.delete(d);
          dirs.add(move(d));
        }
      }
    },
    remove: async (path) => {
      for (const p of [...files.keys()]) if (p === path || under(p, path)) files.delete(p);
      for (const d of [...dirs]) if (d !== '' && (d === path || under(d, path))) dirs.delete(d);
    },
    sync: async () => {},
  };
}

/** The storage for an output folder: a directory path or file: URL, or any RunStorage. */
export function resolveRunStorage(where: string | URL | RunStorage): RunStorage {
  if (typeof where === 'string' || where instanceof URL) return directoryRunStorage(where);
  if (typeof where === 'object' && where !== null && typeof (where as RunStorage).append === 'function') return where;
  throw new ConfigError(`a run folder is a directory path, a file: URL or a RunStorage (e.g. memoryRunStorage()); got ${Object.prototype.toString.call(where)}`);
}

/** A folder inside a storage, as a storage of its own (a pipeline's stages each get a run folder). */
export function subRunStorage(storage: RunStorage, dir: string): RunStorage {
  const at = (p: string) => (p === '' ? dir : `${dir}/${p}`);
  return {
    location: `${storage.location}/${dir}`,
    read: (p) => storage.read(at(p)),
    write: (p, bytes) => storage.write(at(p), bytes),
    append: (p, bytes) => storage.append(at(p), bytes),
    list: (p) => storage.list(at(p)),
    mkdirp: (p) => storage.mkdirp(at(p)),
    rename: (from, to) => storage.rename(at(from), at(to)),
    remove: (p) => storage.remove(at(p)),
    sync: (p) => storage.sync(at(p)),
  };
}
