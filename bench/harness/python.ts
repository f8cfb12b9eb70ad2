// Finds a Python that has the modules a peer needs and runs a peer script in it: a JSON job
// on stdin, one JSON line on stdout. Benchmarks must run without one (CI has no PyTorch).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface PythonPeer {
  python: string;
  /** What the probe printed (e.g. the modules' versions). */
  versions: string;
}

/**
 * The first interpreter that imports every module: $WEBRLHF_BENCH_PYTHON alone when set,
 * else $VIRTUAL_ENV's, a .venv in the checkout, python3, python.
 * A string says why none was found.
 */
export function findPython(modules: string[], root = process.cwd()): PythonPeer | string {
  const env = process.env;
  const candidates = env.WEBRLHF_BENCH_PYTHON
    ? [env.WEBRLHF_BENCH_PYTHON]
    : [
        ...(env.VIRTUAL_ENV ? [join(env.VIRTUAL_ENV, 'bin/python')] : []),
        ...[join(root, '.venv/bin/python')].filter((p) => existsSync(p)),
        'python3', 'python',
      ];
  const probe = `import ${modules.join(', ')}; print(', '.join(f'{m.__name__} {m.__version__}' for m in (${modules.join(', ')},)))`;
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', probe], { encoding: 'utf8' });
    if (r.status === 0) return { python, versions: r.stdout.trim() };
  }
  const hint = env.WEBRLHF_BENCH_PYTHON ? '' : '; set WEBRLHF_BENCH_PYTHON';
  return `not installed (no ${modules.join(' + ')} in ${candidates.join(', ')}${hint})`;
}

/** Runs `script` with `job` on stdin; its last stdout line is the JSON result. Throws with its stderr's tail. */
export function runPythonPeer<R>(peer: PythonPeer, script: string, job: unknown, timeoutSeconds = 1800): R {
  const r = spawnSync(peer.python, [script], { input: JSON.stringify(job), encoding: 'utf8', timeout: timeoutSeconds * 1000, maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const why = r.error?.message ?? r.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new Error(`${script} exited with ${r.status ?? r.signal}: ${why}`);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as R;
}
