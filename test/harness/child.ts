// Node-only helpers of the crash tests and the CLI under Deno: a child process that can be
// SIGKILLed at a chosen moment, and whole directory trees compared byte for byte.
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';

export interface ChildResult { code: number | null; signal: NodeJS.Signals | null; out: string; err: string }

/**
 * Runs `node args...`; `killWhen` (given stdout and stderr) is checked on each output and every
 * 10 ms, and SIGKILLs the child the first time it returns true.
 */
export function runNode(args: string[], options: ChildOptions = {}): Promise<ChildResult> {
  return runChild(process.execPath, args, options);
}

/** runNode for `deno run -A --no-prompt args...` (Deno from node_modules, as the test legs run it). */
export function runDeno(args: string[], options: ChildOptions = {}): Promise<ChildResult> {
  return runChild('node_modules/.bin/deno', ['run', '-A', '--no-prompt', ...args], options);
}

interface ChildOptions {
  env?: Record<string, string>;
  killWhen?: (out: string, err: string) => boolean;
}

function runChild(command: string, args: string[], options: ChildOptions): Promise<ChildResult> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const check = () => {
      if (options.killWhen?.(out, err)) child.kill('SIGKILL');
    };
    child.stdout.on('data', (c) => {
      out += c;
      check(); // at once: steps of a tiny model are fast
    });
    child.stderr.on('data', (c) => {
      err += c;
      check();
    });
    const poll = options.killWhen && setInterval(check, 10);
    const limit = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      if (poll) clearInterval(poll);
      clearTimeout(limit);
      done({ code, signal, out, err });
    });
  });
}

/** Every file under `dir`, by relative path. */
export async function tree(dir: string, prefix = ''): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of (await readdir(join(dir, prefix))).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if ((await stat(join(dir, rel))).isDirectory()) for (const [k, v] of await tree(dir, rel)) files.set(k, v);
    else files.set(rel, await readFile(join(dir, rel)));
  }
  return files;
}

export function sameTree(actual: Map<string, Buffer>, expected: Map<string, Buffer>, what: string): void {
  assert.equal([...actual.keys()], [...expected.keys()], `${what}: the same files`);
  for (const [path, bytes] of expected) assert.ok(bytes.equals(actual.get(path)!), `${what}: ${path} differs`);
}
