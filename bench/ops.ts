// `npm run bench -- ops`: what one small op costs on each backend (dispatch overhead, the
// figure that dominates small models), and a mid-size matmul chain — the evidence behind
// backend: 'auto' on software adapters (docs/ARCHITECTURE.md).
import { add, createRuntime, matmul, max, scale, sum, type Backend } from 'webrlhf';
import { fixed, measure, printTable } from './harness/timing.js';

const CHAIN = 200;

/** µs per op for a chain of `CHAIN` elementwise ops on n values, completion awaited once. */
async function elementwiseChain(be: Backend, n: number): Promise<number> {
  const x = be.tensor(new Float32Array(n).fill(1));
  const y = be.zeros([n]);
  const t = await measure(async () => {
    for (let i = 0; i < CHAIN / 2; i++) {
      add(x, y, y);
      scale(y, 0.5, y);
    }
    await be.read(sum(y));
  });
  x.dispose();
  y.dispose();
  return (t.seconds / CHAIN) * 1e6;
}

/** ms for a 4-layer MLP forward (matmul + bias, B×C by C×C) — a model-shaped workload. */
async function mlpForward(be: Backend, rows: number, width: number): Promise<number> {
  const weights = Array.from({ length: 4 }, (_, i) => be.tensor(new Float32Array(width * width).fill(0.01 * (i + 1)), [width, width]));
  const bias = be.zeros([width]);
  const h = [be.tensor(new Float32Array(rows * width).fill(0.5), [rows, width]), be.zeros([rows, width])];
  const t = await measure(async () => {
    for (let l = 0; l < 4; l++) matmul(h[l % 2]!, weights[l]!, { bias, out: h[(l + 1) % 2]! });
    await be.read(max(h[0]!));
  });
  return t.seconds * 1e3;
}

const rows: (string | number)[][] = [];
const gpu = await createRuntime({ backend: 'webgpu' });
const wasm = await createRuntime({ backend: 'wasm' });
const backends = [gpu.backend, wasm.backend];
for (const n of [1024, 65536, 1 << 20]) {
  const [g, w] = [await elementwiseChain(backends[0]!, n), await elementwiseChain(backends[1]!, n)];
  rows.push([`add/scale, n=${n}`, `${fixed(g)} µs`, `${fixed(w)} µs`, `${fixed(g / w)}×`]);
}
for (const [r, c] of [[1024, 128], [1024, 256], [2048, 512]] as const) {
  const [g, w] = [await mlpForward(backends[0]!, r, c), await mlpForward(backends[1]!, r, c)];
  rows.push([`4-layer MLP ${r}×${c}`, `${fixed(g)} ms`, `${fixed(w)} ms`, `${fixed(g / w)}×`]);
}
console.log(`\nper-op cost and a model-shaped workload (lower is better), Node ${process.versions.node}`);
console.log(`webgpu: ${gpu.backend.info().device}${gpu.adapter?.software ? ' (software)' : ''}; wasm: ${wasm.backend.info().device}\n`);
printTable(['workload', 'webgpu', 'wasm', 'webgpu / wasm'], rows);
gpu.dispose();
wasm.dispose();
