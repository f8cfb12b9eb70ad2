// `npm run bench -- llama`: a SmolLM2-135M-shaped Llama (random weights, f32) on both webrlhf
// backends: full fine-tuning SFT steps (lmTrainStep: forward, lmLoss, backward, clipping,
// AdamW) at B=2, T=128, and greedy generation with the KV cache at batch 1 and 8. Beside it,
// transformers' LlamaForCausalLM of the same config doing the same in PyTorch on the same
// number of threads (bench/peers/torch_llama.py), in the same run, when a Python with torch
// and transformers is found (bench/harness/python.ts).
//
// WEBRLHF_BENCH_BACKENDS=webgpu,wasm  WEBRLHF_BENCH_PARTS=train,generate
// WEBRLHF_BENCH_ROUNDS=3 (timed rounds, median)  WEBRLHF_BENCH_WARMUP=1
// WEBRLHF_BENCH_BATCHES=1,8  WEBRLHF_BENCH_NEW_TOKENS=32 (generation)  WEBRLHF_BENCH_PEER=0 skips PyTorch
// WEBRLHF_BENCH_PYTHON=/path/to/python picks the peer's interpreter.
// WEBRLHF_BENCH_PROFILE=1: after timing, one more step / generation on WASM with each kernel
// timed (bench/harness/wasm_profile.ts), printed after the tables.
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { AdamW, CausalLM, generate, lmTrainStep, llamaConfig, parameterCount, type Backend } from 'webrlhf';
import { SMOLLM2_135M } from './harness/model_configs.js';
import { findPython, runPythonPeer } from './harness/python.js';
import { backendsFromEnv, errorLine, forEachRuntime } from './harness/runtimes.js';
import { fixed, measure, mib, printTable } from './harness/timing.js';
import { printProfile, profileWasmKernels } from './harness/wasm_profile.js';

const env = process.env;
const list = (v: string | undefined, d: string) => (v ?? d).split(',').map((s) => s.trim()).filter(Boolean);
const BACKENDS = backendsFromEnv();
const PARTS = list(env.WEBRLHF_BENCH_PARTS, 'train,generate');
const ROUNDS = Number(env.WEBRLHF_BENCH_ROUNDS ?? 3);
const WARMUP = Number(env.WEBRLHF_BENCH_WARMUP ?? 1);
const BATCHES = list(env.WEBRLHF_BENCH_BATCHES, '1,8').map(Number);
const PEER = env.WEBRLHF_BENCH_PEER !== '0';
const PROFILE = env.WEBRLHF_BENCH_PROFILE === '1';

const TRAIN = { B: 2, T: 128, lr: 1e-4 };
const GEN = { prompt: 32, newTokens: Number(env.WEBRLHF_BENCH_NEW_TOKENS ?? 32) };

/** Fixed pseudo-random token ids (an LCG), the same on both sides. */
function tokenRows(rows: number, length: number, seed: number): number[][] {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) % SMOLLM2_135M.vocab_size;
  return Array.from({ length: rows }, () => Array.from({ length }, next));
}
const trainIds = tokenRows(TRAIN.B, TRAIN.T, 7);
const prompts = BATCHES.map((B) => tokenRows(B, GEN.prompt, 11));

interface TrainFigures {
  msPerStep: number;
  firstLoss: number;
  /** Parameters, gradients and AdamW's m and v. */
  stateBytes: number;
  /** webrlhf: model.deviceBytes (activations included) + optimizer state. */
  deviceBytes?: number;
  /** webrlhf: the most tensor memory held at once (temporaries included). */
  peakTensorBytes?: number;
  maxRssBytes: number;
  /** WASM backend: the WebAssembly memory's size. */
  heapBytes?: number;
}

interface GenerateFigures {
  B: number;
  /** generate() with max_new_tokens 1: the prompt's forward pass and one sample. */
  prefillMs: number;
  /** generate() with max_new_tokens GEN.newTokens. */
  totalMs: number;
}

interface Side {
  label: string;
  detail?: string;
  params?: number;
  createSeconds?: number;
  train?: TrainFigures;
  generate: GenerateFigures[];
  errors: string[];
}

const seconds = async (step: () => Promise<unknown>) =>
  (await measure(async () => void (await step()), { warmup: WARMUP, minSeconds: 0, minRounds: ROUNDS, maxRounds: ROUNDS })).seconds;
const maxRss = () => process.resourceUsage().maxRSS * 1024;

/** Kernel profiles, printed at the end. */
const profiles: (() => void)[] = [];

/** With WEBRLHF_BENCH_PROFILE=1 on WASM: runs `body` once more with every kernel timed. */
async function profiled(be: Backend, title: string, body: () => Promise<unknown>): Promise<void> {
  if (!PROFILE || be.kind !== 'wasm') return;
  const p = profileWasmKernels();
  const t0 = performance.now();
  try {
    await body();
  } finally {
    const wall = performance.now() - t0;
    const entries = p.stop();
    profiles.push(() => printProfile(title, entries, 1, wall));
  }
}

async function benchTrain(be: Backend, model: CausalLM): Promise<TrainFigures> {
  // A fresh backend holds this model alone: its tensor bytes are the model's and the step's.
  be.memoryTracker.resetPeak();
  const opt = new AdamW(model, { lr: TRAIN.lr, weight_decay: 0.01, max_grad_norm: 1 });
  const losses: number[] = [];
  const step = async () => losses.push((await lmTrainStep(model, opt, { inputIds: trainIds })).loss);
  try {
    const s = await seconds(step);
    const heap = be.info().details.memoryBytes;
    const figures: TrainFigures = {
      msPerStep: s * 1000, firstLoss: losses[0]!,
      stateBytes: (model.params.size + model.grads.size + opt.state.size) * 4,
      deviceBytes: model.deviceBytes + opt.state.size * 4,
      peakTensorBytes: be.memory().peakBytes,
      maxRssBytes: maxRss(),
      ...(typeof heap === 'number' ? { heapBytes: heap } : {}),
    };
    await profiled(be, `webrlhf ${be.kind} SFT step B=${TRAIN.B} T=${TRAIN.T}`, step);
    return figures;
  } finally {
    opt.dispose();
  }
}

async function benchGenerate(model: CausalLM, rows: number[][]): Promise<GenerateFigures> {
  const once = (n: number) => generate(model, rows, { do_sample: false, max_new_tokens: n, eos_token_id: null, use_cache: true });
  const figures = { B: rows.length, prefillMs: (await seconds(() => once(1))) * 1000, totalMs: (await seconds(() => once(GEN.newTokens))) * 1000 };
  await profiled(model.backend, `webrlhf ${model.backend.kind} generation B=${rows.length}, ${GEN.prompt} + ${GEN.newTokens} tokens`, () => once(GEN.newTokens));
  return figures;
}

async function webrlhfSides(): Promise<{ sides: Side[]; threads: number }> {
  const sides: Side[] = [];
  // The peer gets as many threads as the WASM backend runs (all cores when it does not run).
  let threads = availableParallelism();
  await forEachRuntime(BACKENDS, async (rt, kind) => {
    const side: Side = { label: `webrlhf ${kind}`, detail: rt.backend.info().device, generate: [], errors: [] };
    sides.push(side);
    if (kind === 'wasm') threads = rt.backend.info().details.threads as number;
    const t0 = performance.now();
    let model: CausalLM;
    try {
      model = CausalLM.create(rt.backend, llamaConfig(SMOLLM2_135M), { seed: 1 });
    } catch (e) {
      side.errors.push(`creating the model: ${errorLine(e)}`);
      return;
    }
    side.createSeconds = (performance.now() - t0) / 1000;
    side.params = parameterCount(model.layout);
    // Each part on its own: a failure is reported and the rest still runs.
    const part = async (name: string, body: () => Promise<void>) => {
      if (!PARTS.includes(name)) return;
      console.error(`webrlhf ${kind}: ${name}`);
      try {
        await body();
      } catch (e) {
        side.errors.push(`${name}: ${errorLine(e)}`);
      }
    };
    try {
      await part('train', async () => void (side.train = await benchTrain(rt.backend, model)));
      for (const rows of prompts) await part('generate', async () => void side.generate.push(await benchGenerate(model, rows)));
    } finally {
      model.dispose();
    }
  }, (kind, error) => {
    const label = `webrlhf ${kind}`;
    const side = sides.find((s) => s.label === label) ?? sides[sides.push({ label, generate: [], errors: [] }) - 1]!;
    side.errors.push(error);
  });
  return { sides, threads };
}

interface TorchResult {
  versions: string;
  threads: number;
  params: number;
  createSeconds: number;
  train?: { msPerStep: number; firstLoss: number; paramBytes: number; gradBytes: number; optimizerBytes: number; maxRssBytes: number };
  generate?: GenerateFigures[];
}

/** The PyTorch side, or a line saying why there is none. */
function torchSide(threads: number): Side | string {
  const peer = findPython(['torch', 'transformers']);
  if (typeof peer === 'string') return peer;
  console.error(`PyTorch (${peer.python}): ${PARTS.join(', ')}`);
  const script = fileURLToPath(new URL('../../bench/peers/torch_llama.py', import.meta.url));
  const side: Side = { label: 'PyTorch', generate: [], errors: [] };
  try {
    const r = runPythonPeer<TorchResult>(peer, script, {
      config: SMOLLM2_135M, parts: PARTS, threads, lr: TRAIN.lr, warmup: WARMUP, rounds: ROUNDS,
      train_ids: trainIds, prompts, new_tokens: GEN.newTokens,
    });
    Object.assign(side, { detail: `${r.versions}, ${r.threads} threads (${peer.python})`, params: r.params, createSeconds: r.createSeconds, generate: r.generate ?? [] });
    if (r.train) {
      const t = r.train;
      side.train = { msPerStep: t.msPerStep, firstLoss: t.firstLoss, stateBytes: t.paramBytes + t.gradBytes + t.optimizerBytes, maxRssBytes: t.maxRssBytes };
    }
  } catch (e) {
    side.errors.push(e instanceof Error ? e.message : String(e));
  }
  return side;
}

function report(sides: Side[], peer: Side | undefined, peerMissing: string | undefined): void {
  const c = SMOLLM2_135M;
  const P = sides.find((s) => s.params)?.params ?? peer?.params;
  console.log(`\nSmolLM2-135M-shaped Llama, random weights, f32 — Node ${process.versions.node}`);
  console.log(`  C${c.hidden_size} I${c.intermediate_size} L${c.num_hidden_layers} H${c.num_attention_heads} KV${c.num_key_value_heads} V${c.vocab_size}, tied embeddings`);
  for (const s of [...sides, ...(peer ? [peer] : [])]) {
    const made = s.params ? `; ${s.params.toLocaleString('en-US')} parameters, created in ${fixed(s.createSeconds, 1)} s` : '';
    console.log(`  ${s.label}: ${s.detail ?? 'did not start'}${made}`);
  }
  if (peerMissing) console.log(`  PyTorch: ${peerMissing}`);
  console.log(`  median of ${ROUNDS} timed rounds after ${WARMUP} warm-up; ratios are webrlhf ÷ PyTorch (tokens/s)`);
  // Other work on the machine skews both sides, PyTorch's OpenMP threads most.
  console.log(`  load average (1, 5, 15 min): ${loadAtStart} at the start, ${load()} at the end; ${availableParallelism()} cores\n`);
  const ratio = (ours: number | undefined, theirs: number | undefined) => (ours && theirs ? `${fixed(ours / theirs)}×` : '—');
  const all = [...sides, ...(peer ? [peer] : [])];

  if (PARTS.includes('train')) {
    const tokens = TRAIN.B * TRAIN.T;
    const tps = (t: TrainFigures | undefined) => (t ? tokens / (t.msPerStep / 1000) : undefined);
    console.log(`SFT step (forward, loss, backward, clip 1.0, AdamW), B=${TRAIN.B} T=${TRAIN.T}; memory in MiB`);
    if (P) console.log(`  expected params + grads + AdamW m, v: 16 B/param × ${P.toLocaleString('en-US')} = ${mib(16 * P)} MiB`);
    printTable(
      ['implementation', 'ms/step', 'tok/s', 'loss@1', 'params+grads+m+v', 'B/param', 'device (acts incl.)', 'peak tensors', 'max RSS', 'WASM heap', 'tok/s vs PyTorch'],
      all.map((s) => {
        const t = s.train;
        return [
          s.label, fixed(t?.msPerStep, 0), fixed(tps(t), 1), fixed(t?.firstLoss, 3), mib(t?.stateBytes), t && P ? fixed(t.stateBytes / P, 1) : '—',
          mib(t?.deviceBytes), mib(t?.peakTensorBytes), mib(t?.maxRssBytes), mib(t?.heapBytes), s === peer ? '' : ratio(tps(t), tps(peer?.train)),
        ];
      }),
    );
    console.log('  max RSS: the process\'s peak resident memory so far (webrlhf: one Node process for every backend, in the order run)\n');
  }
  if (PARTS.includes('generate')) {
    console.log(`Greedy generation with the KV cache: ${GEN.prompt}-token prompts, ${GEN.newTokens} new tokens per sequence`);
    const rows: string[][] = [];
    for (const B of BATCHES) {
      const theirs = peer?.generate.find((g) => g.B === B);
      for (const s of all) {
        const g = s.generate.find((x) => x.B === B);
        const tps = (x: GenerateFigures | undefined) => (x ? (B * GEN.newTokens) / (x.totalMs / 1000) : undefined);
        // Decode alone: the steps after the first, over the time after the prompt's pass.
        const decode = (x: GenerateFigures | undefined) => (x && x.totalMs > x.prefillMs ? (B * (GEN.newTokens - 1)) / ((x.totalMs - x.prefillMs) / 1000) : undefined);
        rows.push([
          `${s.label} B=${B}`, fixed(g?.prefillMs, 0), fixed(g?.totalMs, 0), fixed(tps(g), 1), fixed(decode(g), 1),
          s === peer ? '' : ratio(tps(g), tps(theirs)), s === peer ? '' : ratio(decode(g), decode(theirs)),
        ]);
      }
    }
    printTable(['implementation batch', 'prefill ms', 'total ms', 'new tok/s', 'decode tok/s', 'tok/s vs PyTorch', 'decode vs PyTorch'], rows);
    console.log('  prefill: generate with max_new_tokens 1 (prompt forward + one token); decode tok/s: the other tokens over the time after it\n');
  }
  for (const s of all) for (const e of s.errors) console.log(`  ${s.label} failed: ${e}`);
  if (profiles.length) console.log();
  for (const print of profiles) print();
}

const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
const loadAtStart = load();

async function main(): Promise<void> {
  const { sides, threads } = await webrlhfSides();
  const peer = PEER ? torchSide(threads) : 'skipped (WEBRLHF_BENCH_PEER=0)';
  report(sides, typeof peer === 'string' ? undefined : peer, typeof peer === 'string' ? peer : undefined);
}

// Dawn's promises do not keep Node's event loop alive; hold it open until the end.
const keepAlive = setInterval(() => {}, 1 << 30);
await main();
clearInterval(keepAlive);
