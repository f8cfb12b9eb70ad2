// `npm run bench -- train-step`: one GPT-2 training step (forward, cross-entropy, backward,
// global-norm clipping, AdamW) on both webrlhf backends, side by side with the same model and
// step written in TensorFlow.js (bench/peers/tfjs_gpt2.ts) on its webgpu backend (the same
// Dawn adapter) and its wasm backend, measured in the same run. Tokens/s, ms/step and the
// peak tensor memory of a step. With the WASM backend, the same step in PyTorch on the CPU with
// as many threads (bench/peers/torch_train_step.py) when a Python with torch and transformers
// is found.
//
// WEBRLHF_BENCH_CONFIGS=small,big (default both), WEBRLHF_BENCH_BACKENDS=webgpu,wasm,
// WEBRLHF_BENCH_PEER=0 skips TF.js, WEBRLHF_BENCH_TORCH=0 skips PyTorch.
import { fileURLToPath } from 'node:url';
import { AdamW, CausalLM, createRuntime, gptConfig, lmTrainStep, type Backend, type Runtime } from 'webrlhf';
import { findPython, runPythonPeer } from './harness/python.js';
import { fixed, printTable } from './harness/timing.js';
import { randomBatch } from './peers/tfjs_gpt2.js';
import { configLabel, mib, runTfjsTrainStep, TRAIN_STEP_CONFIGS, type TfjsTrainStepRow } from './peers/tfjs_train_step.js';

const env = process.env;
const CONFIGS = (env.WEBRLHF_BENCH_CONFIGS ?? 'small,big').split(',');
const BACKENDS = (env.WEBRLHF_BENCH_BACKENDS ?? 'webgpu,wasm').split(',') as ('webgpu' | 'wasm')[];
const PEER = env.WEBRLHF_BENCH_PEER !== '0';
const TORCH = env.WEBRLHF_BENCH_TORCH !== '0';

interface TorchStep {
  msPerStep: number;
  tokensPerSecond: number;
  firstLoss: number;
  steps: number;
}

/** PyTorch's step per configuration on `threads` CPU threads, on the webrlhf side's batch; or a line saying why there is none. */
function benchTorch(threads: number): { results: Record<string, TorchStep>; detail: string } | string {
  const peer = findPython(['torch', 'transformers']);
  if (typeof peer === 'string') return `PyTorch: ${peer}`;
  const script = fileURLToPath(new URL('../../bench/peers/torch_train_step.py', import.meta.url));
  const configs = Object.fromEntries(CONFIGS.map((name) => {
    const c = TRAIN_STEP_CONFIGS[name]!;
    return [name, { ...c, ids: Array.from(randomBatch(c, 7).inputIds) }];
  }));
  try {
    const r = runPythonPeer<{ versions: string; threads: number; results: Record<string, TorchStep> }>(peer, script, { configs, threads });
    return { results: r.results, detail: `PyTorch: ${r.versions}, ${r.threads} thread(s), CPU (${peer.python})` };
  } catch (e) {
    return `PyTorch: failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

interface Row {
  backend: string;
  configName: string;
  steps: number;
  msPerStep: number;
  tokensPerSecond: number;
  firstLoss: number;
  peakBytes: number;
}

/** Warm-up steps, then timed steps until at least 3 steps and 3 s (at most 20 steps or 30 s). */
async function benchWebrlhf(be: Backend, configName: string): Promise<Row> {
  const c = TRAIN_STEP_CONFIGS[configName]!;
  const before = be.memory().bytes;
  be.memoryTracker.resetPeak();
  const model = CausalLM.create(be, gptConfig({ vocab_size: c.V, n_positions: c.T, n_embd: c.C, n_layer: c.L, n_head: c.H }), { seed: 1 });
  // The same optimizer as the peer: AdamW lr 1e-3, β (0.9, 0.999), clipping at 1.0.
  const opt = new AdamW(model, { lr: 1e-3, weight_decay: 0.01, max_grad_norm: 1 });
  const { inputIds } = randomBatch(c, 7);
  const batch = { inputIds: Array.from({ length: c.B }, (_, b) => Array.from(inputIds.subarray(b * c.T, (b + 1) * c.T))) };
  const losses: number[] = [];
  const step = async () => losses.push((await lmTrainStep(model, opt, batch)).loss);
  for (let i = 0; i < 2; i++) await step();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || (performance.now() - start < 3000 && times.length < 20)) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
    if (performance.now() - start > 30000) break;
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)]!;
  const peakBytes = be.memory().peakBytes - before;
  model.dispose();
  opt.dispose();
  return { backend: `webrlhf ${be.kind}`, configName, steps: times.length, msPerStep: ms, tokensPerSecond: (c.B * c.T) / (ms / 1000), firstLoss: losses[0]!, peakBytes };
}

async function main(): Promise<void> {
  const ours: Row[] = [];
  let peers: TfjsTrainStepRow[] = [];
  let gpuRt: Runtime | undefined;
  const details: string[] = [];
  let wasmThreads = 0;
  for (const kind of BACKENDS) {
    const rt = await createRuntime({ backend: kind });
    details.push(`webrlhf ${kind}: ${rt.backend.info().device}`);
    if (kind === 'wasm') wasmThreads = rt.backend.info().details.threads as number;
    for (const name of CONFIGS) {
      console.error(`webrlhf ${kind} ${name} (${configLabel(TRAIN_STEP_CONFIGS[name]!)})`);
      ours.push(await benchWebrlhf(rt.backend, name));
    }
    if (kind === 'webgpu') gpuRt = rt;
    else rt.dispose();
  }
  if (PEER) {
    // The same Dawn instance and adapter for TF.js's webgpu backend.
    const gpu = gpuRt ? (gpuRt.backend as unknown as { gpu: GPU }).gpu : undefined;
    peers = await runTfjsTrainStep({
      backends: BACKENDS, configs: CONFIGS, ...(gpu ? { gpu } : {}),
      featureLevel: gpuRt?.adapter?.featureLevel ?? 'core', adapterName: gpuRt?.adapter?.description ?? 'webgpu',
      log: (line) => console.error(line),
    });
    for (const p of peers) if (p.detail) details.push(`tfjs ${p.backend}: ${p.detail}`);
  }
  gpuRt?.dispose();

  console.log(`\nGPT-2 training step (forward, loss, backward, clip, AdamW), f32 — Node ${process.versions.node}`);
  for (const d of [...new Set(details)]) console.log(`  ${d}`);
  console.log('  configs: ' + CONFIGS.map((n) => `${n} = ${configLabel(TRAIN_STEP_CONFIGS[n]!)}`).join('; '));
  console.log('  peak MiB: the most tensor memory held at once during the steps (parameters, gradients, optimizer state, activations)\n');
  const rows: string[][] = [];
  for (const name of CONFIGS) {
    for (const kind of BACKENDS) {
      const o = ours.find((r) => r.configName === name && r.backend === `webrlhf ${kind}`)!;
      const p = peers.find((r) => r.configName === name && r.backend === kind)?.result;
      rows.push([
        `${name} ${kind}`, fixed(o.msPerStep, 0), fixed(o.tokensPerSecond, 0), mib(o.peakBytes),
        p ? fixed(p.msPerStep, 0) : '—', p ? fixed(p.tokensPerSecond, 0) : '—', p ? mib(p.memory.peakTensorBytes) : '—',
        p ? `${fixed(o.tokensPerSecond / p.tokensPerSecond)}×` : '—',
      ]);
    }
  }
  printTable(['config backend', 'webrlhf ms/step', 'webrlhf tok/s', 'webrlhf peak MiB', 'tfjs ms/step', 'tfjs tok/s', 'tfjs peak MiB', 'tok/s ratio'], rows);
  const failed = peers.filter((p) => p.error);
  for (const f of failed) console.log(`  tfjs ${f.backend} ${f.configName} failed: ${f.error}`);

  // PyTorch on the CPU against the WASM backend, on as many threads.
  if (!TORCH || !wasmThreads) return;
  const torch = benchTorch(wasmThreads);
  console.log(`\n  ${typeof torch === 'string' ? torch : torch.detail}\n`);
  if (typeof torch === 'string') return;
  printTable(['config', `webrlhf wasm ${wasmThreads}T tok/s`, `pytorch cpu ${wasmThreads}T tok/s`, 'pytorch ms/step', 'pytorch first loss', 'webrlhf first loss', 'wasm / pytorch'], CONFIGS.map((name) => {
    const o = ours.find((r) => r.configName === name && r.backend === 'webrlhf wasm')!;
    const t = torch.results[name]!;
    return [name, fixed(o.tokensPerSecond, 0), fixed(t.tokensPerSecond, 0), fixed(t.msPerStep, 0), fixed(t.firstLoss, 3), fixed(o.firstLoss, 3), `${fixed(o.tokensPerSecond / t.tokensPerSecond)}×`];
  }));
}

// Dawn's promises do not keep Node's event loop alive; hold it open until the end.
const keepAlive = setInterval(() => {}, 1 << 30);
await main();
clearInterval(keepAlive);
