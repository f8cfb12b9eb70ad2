// `npm run bench -- matmul`: GFLOP/s of webrlhf's matmul on both backends, side by side with
// TensorFlow.js's webgpu backend on the same adapter and its wasm backend, and with PyTorch on
// the CPU with as many threads as the WASM backend (bench/peers/torch_matmul.py) when a Python
// with torch is found, in one run.
import { fileURLToPath } from 'node:url';
import { createRuntime, matmul, type Backend } from 'webrlhf';
import { findPython, runPythonPeer } from './harness/python.js';
import { fixed, measure, printTable } from './harness/timing.js';
import { loadTfjsWebGPU } from './peers/tfjs_gpt2.js';

const SIZES = (process.env.WEBRLHF_BENCH_SIZES ?? '256,512,1024').split(',').map(Number);

function randomData(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

const gflops = (n: number, seconds: number) => (2 * n ** 3) / seconds / 1e9;

/** webrlhf: n³ matmul into a preallocated output, completion awaited through flush(). */
async function benchWebrlhf(be: Backend, n: number): Promise<number> {
  const a = be.tensor(randomData(n * n, 1), [n, n]);
  const b = be.tensor(randomData(n * n, 2), [n, n]);
  const out = be.zeros([n, n]);
  const t = await measure(async () => {
    matmul(a, b, { out });
    await be.flush();
  });
  for (const x of [a, b, out]) x.dispose();
  return gflops(n, t.seconds);
}

type TF = typeof import('@tensorflow/tfjs-core');

async function benchTfjs(tf: TF, n: number): Promise<number> {
  const a = tf.tensor2d(randomData(n * n, 1), [n, n]);
  const b = tf.tensor2d(randomData(n * n, 2), [n, n]);
  const t = await measure(async () => {
    const c = tf.matMul(a, b);
    await c.data(); // waits for the GPU/WASM work (a readback of n² floats)
    c.dispose();
  });
  a.dispose();
  b.dispose();
  return gflops(n, t.seconds);
}

/** PyTorch's GFLOP/s per size on `threads` CPU threads, or a line saying why there are none. */
function benchTorch(threads: number): { gflops: Record<string, number>; detail: string } | string {
  const peer = findPython(['torch']);
  if (typeof peer === 'string') return `PyTorch: ${peer}`;
  const script = fileURLToPath(new URL('../../bench/peers/torch_matmul.py', import.meta.url));
  try {
    const r = runPythonPeer<{ versions: string; threads: number; gflops: Record<string, number> }>(peer, script, { sizes: SIZES, threads, min_seconds: 1.5 });
    return { gflops: r.gflops, detail: `PyTorch: ${r.versions}, ${r.threads} thread(s) (${peer.python})` };
  } catch (e) {
    return `PyTorch: failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

async function main(): Promise<void> {
  const gpuRt = await createRuntime({ backend: 'webgpu' });
  const adapter = gpuRt.adapter!;
  const rows: Record<number, Record<string, number>> = {};
  for (const n of SIZES) rows[n] = {};

  for (const n of SIZES) rows[n]!.webgpu = await benchWebrlhf(gpuRt.backend, n);
  // The same Dawn instance and adapter for TF.js.
  const gpu = (gpuRt.backend as unknown as { gpu: GPU }).gpu;
  let tf = await loadTfjsWebGPU(gpu, adapter.featureLevel);
  for (const n of SIZES) rows[n]!.tfWebgpu = await benchTfjs(tf, n);
  tf.engine().reset();
  gpuRt.dispose();

  const wasmRt = await createRuntime({ backend: 'wasm' });
  const threads = wasmRt.backend.info().details.threads as number;
  for (const n of SIZES) rows[n]!.wasm = await benchWebrlhf(wasmRt.backend, n);
  wasmRt.dispose();
  // One thread too, the fair match for TF.js's single-threaded wasm backend.
  const wasm1 = await createRuntime({ backend: 'wasm', threads: 1 });
  for (const n of SIZES) rows[n]!.wasm1 = await benchWebrlhf(wasm1.backend, n);
  wasm1.dispose();
  await import('@tensorflow/tfjs-backend-wasm');
  tf = await import('@tensorflow/tfjs-core');
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed to initialise');
  const tfThreads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'threads' : '1 thread';
  const tfSimd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD';
  for (const n of SIZES) rows[n]!.tfWasm = await benchTfjs(tf, n);
  const torch = benchTorch(threads);
  const torchCell = (n: number, value: (g: number) => string) => (typeof torch === 'string' ? 'n/a' : value(torch.gflops[String(n)]!));

  console.log(`\nmatmul, f32, n×n·n×n — GFLOP/s (higher is better), Node ${process.versions.node}`);
  console.log(`WebGPU adapter: ${adapter.description || adapter.device} via ${adapter.source} (${adapter.featureLevel}${adapter.software ? ', software' : ''}); TF.js wasm: ${tfSimd}, ${tfThreads}`);
  console.log(`${typeof torch === 'string' ? torch : torch.detail}\n`);
  printTable(
    ['n', 'webrlhf webgpu', 'tfjs webgpu', 'ratio', `webrlhf wasm ${threads}T`, 'webrlhf wasm 1T', 'tfjs wasm', `ratio ${threads}T`, 'ratio 1T', `pytorch cpu ${threads}T`, `wasm ${threads}T / pytorch`],
    SIZES.map((n) => {
      const r = rows[n]!;
      return [
        `${n}³`, fixed(r.webgpu), fixed(r.tfWebgpu), `${fixed(r.webgpu! / r.tfWebgpu!)}×`,
        fixed(r.wasm), fixed(r.wasm1), fixed(r.tfWasm), `${fixed(r.wasm! / r.tfWasm!)}×`, `${fixed(r.wasm1! / r.tfWasm!)}×`,
        torchCell(n, fixed), torchCell(n, (g) => `${fixed(r.wasm! / g)}×`),
      ];
    }),
  );
}

// Dawn's pending promises do not keep Node's event loop alive (TF.js awaits them with nothing
// else pending), so hold the loop open until the benchmark is done.
const keepAlive = setInterval(() => {}, 1 << 30);
await main();
clearInterval(keepAlive);
