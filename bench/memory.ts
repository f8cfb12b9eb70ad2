// `npm run bench -- memory`: peak device bytes of one training step (issue 20), on both
// backends, with random weights in configs shaped like SmolLM2-135M and Qwen2.5-0.5B:
// LoRA SFT on a bf16 base with gradient checkpointing and the chunked LM head, a PPO-shaped
// step of four roles on one bf16 base, and f32 full fine-tuning beside them. Peak is
// backend.memory().peakBytes (every tensor held at once: weights, adapters, gradients,
// optimizer state, activations, temporaries) from before the first step to after the last.
//
// WEBRLHF_BENCH_BACKENDS=wasm,webgpu  WEBRLHF_BENCH_ROWS=smollm-lora,smollm-ppo,qwen-lora,smollm-full-ckpt,smollm-full,qwen-full
// WEBRLHF_BENCH_ROUNDS=1 (timed steps, median)  WEBRLHF_BENCH_WARMUP=0: one step a row by default, as a
// step takes 25-80 s on 2 cores and the peak is reached in the first step (ROUNDS=2 WARMUP=1 for steadier times)
// WEBRLHF_BENCH_GPU_ROUNDS / WEBRLHF_BENCH_GPU_WARMUP: the same for WebGPU (default: the above)
import { availableParallelism, loadavg } from 'node:os';
import { AdamW, CausalLM, dpoTrainStep, lmTrainStep, llamaConfig, rewardTrainStep, trainingMemory, type Backend, type EncodedPreference, type LlamaConfig } from 'webrlhf';
import { QWEN25_05B, SMOLLM2_135M } from './harness/model_configs.js';
import { backendsFromEnv, errorLine, forEachRuntime, type BackendKind } from './harness/runtimes.js';
import { fixed, measure, printTable } from './harness/timing.js';

const env = process.env;
const list = (v: string | undefined, d: string) => (v ?? d).split(',').map((s) => s.trim()).filter(Boolean);
// WASM first: the process's max RSS, a high-water mark, is then the WASM rows' alone.
const BACKENDS = backendsFromEnv('wasm,webgpu');
const ALL_ROWS = ['smollm-lora', 'smollm-reward', 'smollm-dpo', 'smollm-ppo', 'qwen-lora', 'smollm-full-ckpt', 'smollm-full', 'qwen-full'];
const ROWS = list(env.WEBRLHF_BENCH_ROWS, ALL_ROWS.join(','));
const ROUNDS = Number(env.WEBRLHF_BENCH_ROUNDS ?? 1);
const WARMUP = Number(env.WEBRLHF_BENCH_WARMUP ?? 0);
const GPU_ROUNDS = Number(env.WEBRLHF_BENCH_GPU_ROUNDS ?? ROUNDS);
const GPU_WARMUP = Number(env.WEBRLHF_BENCH_GPU_WARMUP ?? WARMUP);
const WASM32_BYTES = 4 * 2 ** 30;
const LORA = { r: 16, lora_alpha: 32, target_modules: 'all-linear' };
const LR = 1e-4;

const GiB = 2 ** 30;
const size = (bytes: number | undefined) =>
  bytes === undefined ? '—' : bytes >= GiB ? `${(bytes / GiB).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(0)} MiB`;

interface Shape {
  name: string;
  config: LlamaConfig;
}
const SMOL: Shape = { name: 'SmolLM2-135M', config: llamaConfig(SMOLLM2_135M) };
const QWEN: Shape = { name: 'Qwen2.5-0.5B', config: llamaConfig(QWEN25_05B) };

interface Spec {
  id: string;
  shape: Shape;
  method: string;
  B: number;
  T: number;
  /** tok/s is B·T per step (the PPO step counts its batch once, though four roles run it). */
  kind: 'lora' | 'ppo' | 'dpo' | 'reward' | 'full';
  checkpointing: boolean;
  /** The issue's target for this row, if any. */
  target?: number;
}

const SPECS: Spec[] = [
  { id: 'smollm-lora', shape: SMOL, method: 'LoRA r16 all-linear, bf16 base, ckpt + chunked head', B: 4, T: 256, kind: 'lora', checkpointing: true, target: 1 * GiB },
  { id: 'smollm-reward', shape: SMOL, method: 'reward model: SEQ_CLS adapter + score head, bf16 base, ckpt (2 pairs)', B: 4, T: 256, kind: 'reward', checkpointing: true },
  { id: 'smollm-dpo', shape: SMOL, method: 'DPO (and RLMEC): adapter policy, π_ref = the bf16 base, ckpt + chunked head (2 pairs)', B: 4, T: 256, kind: 'dpo', checkpointing: true },
  { id: 'smollm-ppo', shape: SMOL, method: 'PPO step, 4 roles on one bf16 base, ckpt + chunked head', B: 4, T: 256, kind: 'ppo', checkpointing: true },
  { id: 'qwen-lora', shape: QWEN, method: 'LoRA r16 all-linear, bf16 base, ckpt + chunked head', B: 2, T: 256, kind: 'lora', checkpointing: true, target: 2 * GiB },
  { id: 'smollm-full-ckpt', shape: SMOL, method: 'full FT f32, ckpt + chunked head', B: 4, T: 256, kind: 'full', checkpointing: true },
  { id: 'smollm-full', shape: SMOL, method: 'full FT f32, no ckpt, chunked head', B: 4, T: 256, kind: 'full', checkpointing: false },
  { id: 'qwen-full', shape: QWEN, method: 'full FT f32, ckpt + chunked head', B: 2, T: 256, kind: 'full', checkpointing: true },
];

interface Result {
  backend: string;
  spec: Spec;
  peak?: number;
  weights?: number;
  adapter?: number;
  optimizer?: number;
  msPerStep?: number;
  maxRss?: number;
  wasmHeap?: number;
  /** Per role (PPO): device bytes besides the shared base weights. */
  roles?: [string, number][];
  estimate?: number;
  note?: string;
  error?: string;
}

/** Fixed pseudo-random token ids (an LCG). */
function tokenRows(rows: number, length: number, vocab: number, seed: number): number[][] {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) % vocab;
  return Array.from({ length: rows }, () => Array.from({ length }, next));
}

const maxRss = () => process.resourceUsage().maxRSS * 1024;

/** Runs `step` (warm-up + timed rounds); peak device bytes over all of them. */
async function timed(be: Backend, kind: BackendKind, step: () => Promise<void>): Promise<{ msPerStep: number; peak: number }> {
  be.memoryTracker.resetPeak();
  const rounds = kind === 'webgpu' ? GPU_ROUNDS : ROUNDS;
  const warmup = kind === 'webgpu' ? GPU_WARMUP : WARMUP;
  const t = await measure(async () => {
    await step();
    await be.flush();
  }, { warmup, minSeconds: 0, minRounds: rounds, maxRounds: rounds });
  await be.flush();
  return { msPerStep: t.seconds * 1000, peak: be.memory().peakBytes };
}

/** One adapter on a bf16 base trained by `step` (made from the adapted model and its optimizer): the SFT, reward and DPO rows. */
async function adapterRow(
  be: Backend, kind: BackendKind, spec: Spec, r: Result,
  adapt: (base: CausalLM) => Promise<CausalLM>, makeStep: (model: CausalLM, base: CausalLM, opt: AdamW) => () => Promise<void>,
): Promise<void> {
  const base = CausalLM.create(be, spec.shape.config, { dtype: 'bf16', seed: 1, gradientCheckpointing: spec.checkpointing });
  r.weights = base.deviceBytes;
  const model = await adapt(base);
  model.gradientCheckpointing = spec.checkpointing;
  const opt = new AdamW(model, { lr: LR, weight_decay: 0, max_grad_norm: 1 });
  try {
    Object.assign(r, await timed(be, kind, makeStep(model, base, opt)));
    r.adapter = model.adapter!.store.bytes + model.adapter!.store.grads.bytes;
    r.optimizer = opt.state.bytes;
  } finally {
    opt.dispose();
    model.dispose();
    base.dispose();
  }
}

/** LoRA SFT: lmTrainStep on B rows of T tokens. */
function loraRow(be: Backend, kind: BackendKind, spec: Spec, r: Result): Promise<void> {
  const ids = { inputIds: tokenRows(spec.B, spec.T, spec.shape.config.vocab_size, 7) };
  return adapterRow(be, kind, spec, r, (base) => base.withAdapter(LORA), (model, _base, opt) => async () => void (await lmTrainStep(model, opt, ids)));
}

async function ppoRow(be: Backend, kind: BackendKind, spec: Spec, r: Result): Promise<void> {
  const { B, T } = spec;
  const base = CausalLM.create(be, spec.shape.config, { dtype: 'bf16', seed: 1, gradientCheckpointing: spec.checkpointing });
  r.weights = base.deviceBytes;
  const policy = await base.withAdapter(LORA);
  const reward = (await base.withAdapter(LORA, { heads: { score: true } })).freeze();
  const value = await reward.withHeads({ value: true });
  const reference = base;
  const roles: [string, CausalLM][] = [['policy', policy], ['reference', reference], ['reward', reward], ['value', value]];
  for (const [, m] of roles) m.gradientCheckpointing = spec.checkpointing;
  const optP = new AdamW(policy, { lr: LR, weight_decay: 0, max_grad_norm: 1 });
  const optV = new AdamW(value, { lr: LR, weight_decay: 0, max_grad_norm: 1 });
  const ids = { inputIds: tokenRows(B, T, spec.shape.config.vocab_size, 7) };
  const dValues = be.tensor(new Float32Array(B * T).fill(1 / (B * T)), [B * T, 1]);
  try {
    const step = async () => {
      // Rollout scoring: the reference's log-probs, the reward's scores (no backward).
      reference.forward(ids);
      reference.tokenLogprobs();
      reward.forward(ids, { logits: false });
      reward.scores();
      // Policy: forward + backward (lmLoss stands in for the clipped policy loss).
      policy.zeroGrad();
      policy.forward(ids);
      policy.lmLoss();
      policy.backward({ lm: true });
      // Value: values() and a constant ∂L/∂V.
      value.zeroGrad();
      value.forward(ids, { logits: false });
      value.values();
      value.backward({ dValues });
      optP.update();
      optV.update();
    };
    Object.assign(r, await timed(be, kind, step));
    r.adapter = policy.adapter!.store.bytes + policy.adapter!.store.grads.bytes;
    r.optimizer = optP.state.bytes + optV.state.bytes;
    r.roles = roles.map(([name, m]) => [name, m.deviceBytes - r.weights! + (m === policy ? optP.state.bytes : m === value ? optV.state.bytes : 0)]);
  } finally {
    dValues.dispose();
    optP.dispose();
    optV.dispose();
    value.dispose();
    reward.dispose();
    policy.dispose();
    base.dispose();
  }
}

/** Two preference pairs of 128 prompt and 128 response tokens: 4 rows of 256, as the LoRA SFT row. */
function pairs(spec: Spec): EncodedPreference[] {
  const [prompts, responses] = [tokenRows(spec.B / 2, spec.T / 2, spec.shape.config.vocab_size, 7), tokenRows(spec.B, spec.T / 2, spec.shape.config.vocab_size, 9)];
  return prompts.map((prompt, i) => ({ prompt, chosen: responses[2 * i]!, rejected: responses[2 * i + 1]! }));
}

/** A reward model's step (Bradley–Terry) or DPO's (policy and π_ref), each role on one bf16 base. */
function preferenceRow(be: Backend, kind: BackendKind, spec: Spec, r: Result): Promise<void> {
  const batch = pairs(spec);
  if (spec.kind === 'reward') {
    return adapterRow(be, kind, spec, r, (base) => base.withAdapter({ ...LORA, task_type: 'SEQ_CLS' }, { heads: { score: true } }),
      (model, _base, opt) => async () => void (await rewardTrainStep(model, opt, batch, LR, { pad: 0 })));
  }
  return adapterRow(be, kind, spec, r, (base) => base.withAdapter(LORA),
    (model, base, opt) => async () => void (await dpoTrainStep(model, base, opt, batch, LR, { beta: 0.1, pad: 0 })));
}

async function fullRow(be: Backend, kind: BackendKind, spec: Spec, r: Result): Promise<void> {
  const model = CausalLM.create(be, spec.shape.config, { seed: 1, gradientCheckpointing: spec.checkpointing });
  r.weights = model.params.bytes;
  const opt = new AdamW(model, { lr: LR, weight_decay: 0.01, max_grad_norm: 1 });
  const ids = { inputIds: tokenRows(spec.B, spec.T, spec.shape.config.vocab_size, 7) };
  try {
    Object.assign(r, await timed(be, kind, async () => void (await lmTrainStep(model, opt, ids))));
    r.optimizer = opt.state.bytes;
  } finally {
    opt.dispose();
    model.dispose();
  }
}

const results: Result[] = [];
const devices = new Map<string, string>();

async function runRow(kind: BackendKind, spec: Spec): Promise<void> {
  const r: Result = { backend: kind, spec };
  results.push(r);
  const est = trainingMemory(spec.shape.config, spec.B, spec.T, { gradientCheckpointing: spec.checkpointing });
  if (spec.kind === 'full') r.estimate = est.total;
  if (spec.kind === 'lora') r.estimate = trainingMemory(spec.shape.config, spec.B, spec.T, { gradientCheckpointing: spec.checkpointing, dtype: 'bf16', lora: LORA }).total;
  if (spec.kind === 'full' && kind === 'wasm' && est.total > 0.95 * WASM32_BYTES) {
    r.note = `does not fit wasm32 (4 GiB): trainingMemory estimates ${size(est.total)}`;
    return;
  }
  console.error(`${kind}: ${spec.id}`);
  await forEachRuntime([kind], async (rt) => {
    const be = rt.backend;
    devices.set(kind, be.info().device);
    if (spec.kind === 'full' && kind === 'webgpu') {
      // AdamW's state is one [2P] f32 buffer: past the device's buffer limit it cannot exist.
      const limits = be.info().details.storageLimits as { buffer: number } | undefined;
      const stateBytes = est.optimizer;
      if (limits && stateBytes > limits.buffer) {
        r.note = `does not fit: AdamW state ${size(stateBytes)} > maxBufferSize ${size(limits.buffer)}; trainingMemory estimates ${size(est.total)}`;
        return;
      }
    }
    try {
      if (spec.kind === 'lora') await loraRow(be, kind, spec, r);
      else if (spec.kind === 'ppo') await ppoRow(be, kind, spec, r);
      else if (spec.kind === 'dpo' || spec.kind === 'reward') await preferenceRow(be, kind, spec, r);
      else await fullRow(be, kind, spec, r);
    } catch (e) {
      r.error = errorLine(e);
      if (e instanceof Error && e.stack) console.error(e.stack.split('\n').slice(0, 6).join('\n'));
    }
    if (kind === 'wasm') {
      r.maxRss = maxRss();
      r.wasmHeap = be.info().details.memoryBytes as number;
    }
  }, (_, error) => void (r.error = error));
}

function report(): void {
  console.log(`\nPeak device memory of one training step — random weights, Node ${process.versions.node}, ${availableParallelism()} cores`);
  for (const [kind, device] of devices) console.log(`  ${kind}: ${device}`);
  console.log(`  ${WARMUP} warm-up + ${ROUNDS} timed steps (WebGPU ${GPU_WARMUP} + ${GPU_ROUNDS}), median; load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const params = (s: Shape) => trainingMemory(s.config, 1, 1).parameterCount.toLocaleString('en-US');
  console.log(`  SmolLM2-135M-shaped: C576 I1536 L30 H9 KV3 V49152, tied embeddings; ${params(SMOL)} parameters`);
  console.log(`  Qwen2.5-0.5B-shaped: C896 I4864 L24 H14 KV2 V151936, tied embeddings, qkv bias; ${params(QWEN)} parameters`);
  console.log(`  LoRA: r 16, alpha 32, all-linear; chunked head: logitsChunkRows 'auto'\n`);
  printTable(
    ['backend', 'model', 'method', 'B×T', 'peak device', 'weights', 'adapter+grad', 'optimizer', 'ms/step', 'tok/s', 'target', 'max RSS', 'WASM heap'],
    results.map((r) => {
      const s = r.spec;
      const tokens = s.B * s.T;
      const target = s.target === undefined ? '' : r.peak === undefined ? `< ${size(s.target)}: —` : `< ${size(s.target)}: ${r.peak < s.target ? 'yes' : 'NO'}`;
      return [
        r.backend, s.shape.name, s.method, `${s.B}×${s.T}`, r.error ? 'failed' : r.note ? `(est. ${size(r.estimate)})` : size(r.peak),
        size(r.weights), size(r.adapter), size(r.optimizer), fixed(r.msPerStep, 0),
        r.msPerStep ? fixed(tokens / (r.msPerStep / 1000), 1) : '—', target, size(r.maxRss), size(r.wasmHeap),
      ];
    }),
  );
  console.log('  weights: the base\'s device bytes (bf16 matrices + f32 norms/biases) or the f32 model\'s; optimizer: AdamW m and v (f32)');
  console.log('  max RSS: the Node process\'s high-water mark after the row (WASM rows run first, smallest first)');
  for (const r of results) {
    if ((r.spec.kind === 'full' || r.spec.kind === 'lora') && r.estimate !== undefined && r.peak !== undefined) console.log(`  ${r.backend} ${r.spec.id}: trainingMemory estimate ${size(r.estimate)}, measured ${size(r.peak)}`);
    if (r.roles) console.log(`  ${r.backend} ${r.spec.id} per role (besides the shared ${size(r.weights)} base; optimizer state included): ${r.roles.map(([n, b]) => `${n} ${size(b)}`).join(', ')}`);
    if (r.note) console.log(`  ${r.backend} ${r.spec.id}: ${r.note}`);
    if (r.error) console.log(`  ${r.backend} ${r.spec.id} failed: ${r.error}`);
  }
}

const keepAlive = setInterval(() => {}, 1 << 30);
for (const kind of BACKENDS) for (const spec of SPECS) if (ROWS.includes(spec.id)) await runRow(kind, spec);
report();
clearInterval(keepAlive);
