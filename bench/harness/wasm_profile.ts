// Time per WASM kernel: the backend runs each kernel synchronously (worker threads included),
// so wrapping its kernel calls gives exact wall time per kernel and shape. Bench-only.
import { WasmKernelContext } from '../../src/backend/wasm/wasm_kernels.js';
import { fixed, printTable } from './timing.js';

interface Entry {
  calls: number;
  ms: number;
  flops: number;
}

type Args = Record<string, number | undefined>;

/** matmul by its shape (M×K·K×N, batch, transposes); other kernels by name. */
function key(name: string, a: Args): { key: string; flops: number } {
  if (name !== 'matmul') return { key: name, flops: 0 };
  const batch = a.batch ?? 1;
  const t = `${a.transA ? ' Aᵀ' : ''}${a.transB ? ' Bᵀ' : ''}${a.accumulate ? ' +=' : ''}`;
  return { key: `matmul ${batch > 1 ? `${batch}× ` : ''}${a.M}×${a.K}·${a.K}×${a.N}${t}`, flops: 2 * batch * a.M! * a.N! * a.K! };
}

/** Starts recording; stop() restores the kernel calls and returns the entries by key. */
export function profileWasmKernels(): { stop: () => Map<string, Entry> } {
  const proto = WasmKernelContext.prototype as unknown as Record<'call' | 'split', (name: string, args: Args, ...rest: unknown[]) => void>;
  const saved = { call: proto.call, split: proto.split };
  const entries = new Map<string, Entry>();
  for (const method of ['call', 'split'] as const) {
    const original = saved[method];
    proto[method] = function (this: unknown, name: string, args: Args, ...rest: unknown[]) {
      const t0 = performance.now();
      original.call(this, name, args, ...rest);
      const k = key(name, args);
      const e = entries.get(k.key) ?? { calls: 0, ms: 0, flops: 0 };
      entries.set(k.key, { calls: e.calls + 1, ms: e.ms + performance.now() - t0, flops: e.flops + k.flops });
    };
  }
  return { stop: () => (Object.assign(proto, saved), entries) };
}

/** The `top` kernels by time, per `per` calls of the profiled work (e.g. per step). */
export function printProfile(title: string, entries: Map<string, Entry>, per: number, wallMs: number, top = 15): void {
  const rows = [...entries.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, e]) => s + e.ms, 0);
  console.log(`${title}: kernels ${fixed(total / per, 0)} ms of ${fixed(wallMs / per, 0)} ms wall per run (the rest: host work between kernels)`);
  printTable(
    ['kernel', 'calls/run', 'ms/run', 'share', 'GFLOP/s'],
    rows.slice(0, top).map(([k, e]) => [k, fixed(e.calls / per, 0), fixed(e.ms / per, 1), `${fixed((100 * e.ms) / total, 1)}%`, e.flops ? fixed(e.flops / e.ms / 1e6, 1) : '']),
  );
  console.log();
}
