// `npm run bench -- rlhf-step`: the RLHF stack's steps on both webrlhf backends. A DPO step
// (policy forward + backward, frozen reference forward, the loss on the device, clipping,
// AdamW) is measured side by side with the same step written in TensorFlow.js
// (bench/peers/tfjs_dpo.ts) on the same inputs, on its webgpu backend (the same Dawn
// adapter) and its wasm backend, in the same run. A Bradley–Terry reward-model step and a
// whole PPO step (rollout: sampling, four scoring forwards, rewards and GAE; then
// num_ppo_epochs × num_mini_batches clipped updates of policy and value model) have no
// TF.js peer: their times are webrlhf's alone. So has a whole GRPO step (GRPOTrainer: a
// generation of 16 prompts × 8 completions, scored by a reward function, then one optimizer
// step on all 128), timed in two parts: sampling, and everything after it.
//
// WEBRLHF_BENCH_BACKENDS=webgpu,wasm, WEBRLHF_BENCH_PEER=0 skips TF.js.
import {
  AdamW, CausalLM, GRPOTrainer, PPOLearner, createRuntime, dpoTrainStep, gptConfig, grpoConfig, preferenceBatch, rewardTrainStep, type Backend, type EncodedPreference,
  type RewardFunc, type Runtime, type Tokenizer,
} from 'webrlhf';
import { fixed, measure, printTable } from './harness/timing.js';
import { createTfjsDPO, type PreferenceRows } from './peers/tfjs_dpo.js';
import { forEachOnFreshTfjs, randomBatch, type GPT2Config } from './peers/tfjs_gpt2.js';

const env = process.env;
const BACKENDS = (env.WEBRLHF_BENCH_BACKENDS ?? 'webgpu,wasm').split(',') as ('webgpu' | 'wasm')[];
const PEER = env.WEBRLHF_BENCH_PEER !== '0';

/** Model and preference batch: P = 4 pairs of 128-token rows, the last 64 tokens the response. */
const MODEL: GPT2Config = { C: 128, L: 4, H: 4, V: 128, B: 8, T: 128, seed: 1 };
const PAIRS = 4;
const RESPONSE = 64;
/** PPO: 16 prompts of 32 tokens, 64 sampled tokens each, TRL's preset (4 epochs), 2 minibatches. */
const PPO = { prompts: 16, promptLength: 32, responseLength: 64, epochs: 4, miniBatches: 2 };
/**
 * GRPO: the same 16 prompts, 8 completions each (generation_batch_size 128) of up to 64
 * tokens, one micro-batch of all 128 per step (GRPOTrainer does not take
 * gradient_accumulation_steps > 1 yet).
 */
const GRPO = { prompts: 16, generations: 8, completionLength: 64 };

const config = gptConfig({ vocab_size: MODEL.V, n_positions: MODEL.T, n_embd: MODEL.C, n_layer: MODEL.L, n_head: MODEL.H });
const label = `C${MODEL.C} L${MODEL.L} H${MODEL.H} V${MODEL.V}`;

/** Random pairs: each pair's two rows share the prompt (as preference data does). */
function pairs(): EncodedPreference[] {
  const { inputIds } = randomBatch({ ...MODEL, B: 2 * PAIRS }, 7);
  const row = (r: number) => Array.from(inputIds.subarray(r * MODEL.T, (r + 1) * MODEL.T));
  return Array.from({ length: PAIRS }, (_, p) => ({
    prompt: row(p).slice(0, MODEL.T - RESPONSE),
    chosen: row(p).slice(MODEL.T - RESPONSE),
    rejected: row(PAIRS + p).slice(MODEL.T - RESPONSE),
  }));
}

/** The same rows as webrlhf's batch of those pairs, for the peer. */
function peerRows(data: EncodedPreference[]): PreferenceRows {
  const r = preferenceBatch(data, 0);
  return { inputIds: Int32Array.from(r.batch.inputIds.flatMap((row) => Array.from(row))), targets: Int32Array.from(r.targets), mask: r.responseMask };
}

interface Row {
  backend: 'webgpu' | 'wasm';
  dpoMs: number;
  /** The first step's DPO loss: log 2 on both sides (the policy starts as the reference). */
  dpoFirstLoss: number;
  peerFirstLoss?: number;
  rewardMs: number;
  ppoMs: number;
  grpo: GRPOTiming;
  peerDpoMs?: number;
  peerError?: string;
}

const timed = async (step: () => Promise<unknown>) => (await measure(async () => void (await step()), { warmup: 2, minSeconds: 3, maxRounds: 20 })).seconds * 1000;

async function benchDPO(be: Backend, data: EncodedPreference[]): Promise<{ ms: number; firstLoss: number }> {
  const policy = CausalLM.create(be, config, { seed: 1 });
  const reference = policy.clone().freeze();
  const opt = new AdamW(policy, { lr: 1e-3, weight_decay: 0, max_grad_norm: 1 });
  const losses: number[] = [];
  try {
    const ms = await timed(async () => losses.push((await dpoTrainStep(policy, reference, opt, data, 1e-3, { beta: 0.1, pad: 0 })).loss!));
    return { ms, firstLoss: losses[0]! };
  } finally {
    for (const x of [policy, reference, opt]) x.dispose();
  }
}

async function benchReward(be: Backend, data: EncodedPreference[]): Promise<number> {
  const model = CausalLM.create(be, config, { seed: 1, heads: { score: true } });
  const opt = new AdamW(model, { lr: 1e-3, weight_decay: 0, max_grad_norm: 1 });
  try {
    return await timed(() => rewardTrainStep(model, opt, data, 1e-3, { pad: 0 }));
  } finally {
    model.dispose();
    opt.dispose();
  }
}

async function benchPPO(be: Backend): Promise<number> {
  const policy = CausalLM.create(be, config, { seed: 1 });
  const reference = policy.clone().freeze();
  const reward = CausalLM.create(be, config, { seed: 2, heads: { score: true } }).freeze();
  const value = CausalLM.create(be, config, { seed: 2, heads: { value: true } });
  const learner = new PPOLearner(
    { policy, reference, value, reward },
    { policy: new AdamW(policy, { lr: 1e-5 }), value: new AdamW(value, { lr: 1e-5 }) },
    {
      kl_coef: 0.05, kl_estimator: 'k1', cliprange: 0.2, cliprange_value: 0.2, vf_coef: 0.1, gamma: 1, lam: 0.95, whiten_rewards: false,
      num_ppo_epochs: PPO.epochs, num_mini_batches: PPO.miniBatches, temperature: 0.7, response_length: PPO.responseLength,
      // No stop token: every response runs its full length, so every step does the same work.
      missing_eos_penalty: null, stop_token_id: null, pad_token_id: 0, seed: 1, local_rollout_forward_batch_size: 64,
    },
  );
  const { inputIds } = randomBatch({ ...MODEL, B: PPO.prompts }, 9);
  const prompts = Array.from({ length: PPO.prompts }, (_, b) => Array.from(inputIds.subarray(b * MODEL.T, b * MODEL.T + PPO.promptLength)));
  let step = 0;
  try {
    return await timed(() => learner.step(prompts, step++, 1e-5));
  } finally {
    for (const x of [policy, reference, reward, value, learner.optimizers.policy, learner.optimizers.value]) x.dispose();
  }
}

/** A 7-bit text tokenizer over the model's 128 ids (GRPOTrainer takes text prompts and decodes completions for the reward functions). */
const asciiTokenizer: Tokenizer = {
  vocabSize: MODEL.V, bosTokenId: undefined, eosTokenId: 0, padTokenId: 0,
  encode: (text) => Array.from(text, (ch) => ch.charCodeAt(0) % MODEL.V),
  decode: (ids, o) => String.fromCharCode(...Array.from(ids).filter((id) => !(o?.skipSpecialTokens && id === 0))),
  tokenToId: (token) => (token.length === 1 && token.charCodeAt(0) < MODEL.V ? token.charCodeAt(0) : undefined),
  idToToken: (id) => (id >= 0 && id < MODEL.V ? String.fromCharCode(id) : undefined),
};

interface GRPOTiming {
  /** Median per step: sampling the generation, and the rest (rewards, advantages, forward + backward, AdamW). */
  generateMs: number;
  updateMs: number;
  /** Mean completion length (a random model meets EOS, id 0, now and then) and policy tokens per update. */
  completionTokens: number;
  updateTokens: number;
}

/**
 * GRPO steps through the trainer; the reward function marks where sampling ended. Steps run
 * as `timed` runs its rounds (2 warm-up, then at least 3 and 3 s, at most 20), then stop by the
 * trainer's AbortSignal.
 */
async function benchGRPO(be: Backend): Promise<GRPOTiming> {
  const policy = CausalLM.create(be, config, { seed: 1 });
  const { inputIds } = randomBatch({ ...MODEL, B: GRPO.prompts }, 9);
  const train = Array.from({ length: GRPO.prompts }, (_, b) => ({ prompt: String.fromCharCode(...inputIds.subarray(b * MODEL.T, b * MODEL.T + PPO.promptLength)) }));
  let sampled = 0;
  const steps: { generateMs: number; updateMs: number; length: number; tokens: number }[] = [];
  const evenTokens: RewardFunc = function even_tokens(_prompts, _completions, { completion_ids }) {
    sampled = performance.now();
    return completion_ids.map((ids) => ids.filter((id) => id % 2 === 0).length / Math.max(ids.length, 1));
  };
  const trainer = new GRPOTrainer({
    policy, tokenizer: asciiTokenizer, train, reward_funcs: evenTokens,
    config: grpoConfig({
      max_steps: 22, num_generations: GRPO.generations, generation_batch_size: GRPO.prompts * GRPO.generations,
      per_device_train_batch_size: GRPO.prompts * GRPO.generations, max_completion_length: GRPO.completionLength, learning_rate: 1e-5, seed: 1,
    }),
  });
  const stop = new AbortController();
  let started = performance.now();
  const timedSince = () => steps.slice(2).reduce((a, s) => a + s.generateMs + s.updateMs, 0) / 1000;
  try {
    await trainer.train({
      signal: stop.signal,
      onStep: ({ metrics, tokens }) => {
        const now = performance.now();
        steps.push({ generateMs: sampled - started, updateMs: now - sampled, length: metrics['completions/mean_length']!, tokens });
        started = now;
        if (steps.length >= 2 + 3 && timedSince() >= 3) stop.abort();
      },
    });
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  } finally {
    policy.dispose();
    trainer.optimizer.dispose();
  }
  const timedSteps = steps.slice(2);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
  return {
    generateMs: median(timedSteps.map((s) => s.generateMs)), updateMs: median(timedSteps.map((s) => s.updateMs)),
    completionTokens: mean(timedSteps.map((s) => s.length)), updateTokens: mean(timedSteps.map((s) => s.tokens)),
  };
}

async function main(): Promise<void> {
  const data = pairs();
  const rows: Row[] = [];
  const details: string[] = [];
  let gpuRt: Runtime | undefined;
  for (const kind of BACKENDS) {
    const rt = await createRuntime({ backend: kind });
    details.push(`webrlhf ${kind}: ${rt.backend.info().device}`);
    console.error(`webrlhf ${kind}: DPO, reward model, PPO, GRPO`);
    const dpo = await benchDPO(rt.backend, data);
    rows.push({
      backend: kind, dpoMs: dpo.ms, dpoFirstLoss: dpo.firstLoss, rewardMs: await benchReward(rt.backend, data), ppoMs: await benchPPO(rt.backend), grpo: await benchGRPO(rt.backend),
    });
    if (kind === 'webgpu') gpuRt = rt;
    else rt.dispose();
  }
  if (PEER) {
    const gpu = gpuRt ? (gpuRt.backend as unknown as { gpu: GPU }).gpu : undefined;
    const options = { ...(gpu ? { gpu } : {}), featureLevel: gpuRt?.adapter?.featureLevel ?? 'core', adapterName: gpuRt?.adapter?.description ?? 'webgpu' };
    for (const row of rows) {
      console.error(`tfjs ${row.backend}: DPO`);
      const [result] = await forEachOnFreshTfjs<string, { ms?: number; firstLoss?: number; error?: string }>(row.backend, ['dpo'], options,
        async (tf, _item, detail) => {
          details.push(`tfjs ${row.backend}: ${detail}`);
          const dpo = createTfjsDPO(tf, MODEL, peerRows(data));
          const losses: number[] = [];
          try {
            const ms = await timed(async () => losses.push(await dpo.step()));
            return { ms, firstLoss: losses[0] };
          } finally {
            dpo.dispose();
          }
        },
        (_item, _detail, error) => ({ error }));
      row.peerDpoMs = result?.ms;
      row.peerFirstLoss = result?.firstLoss;
      row.peerError = result?.error;
    }
  }
  gpuRt?.dispose();

  const dpoTokens = 2 * PAIRS * MODEL.T;
  console.log(`\nRLHF steps, f32 — ${label}, Node ${process.versions.node}`);
  for (const d of [...new Set(details)]) console.log(`  ${d}`);
  console.log(`  DPO and reward model: ${PAIRS} pairs of ${MODEL.T}-token rows (${RESPONSE}-token responses); DPO tok/s counts the ${dpoTokens} policy tokens of a step`);
  console.log(`  PPO: ${PPO.prompts} prompts × (${PPO.promptLength} + ${PPO.responseLength} sampled) tokens, ${PPO.epochs} epochs × ${PPO.miniBatches} minibatches, reward and value models of the same size`);
  const completions = GRPO.prompts * GRPO.generations;
  console.log(`  GRPO: ${GRPO.prompts} prompts × ${GRPO.generations} completions (${PPO.promptLength} + up to ${GRPO.completionLength} sampled tokens), one optimizer step on all ${completions}, β 0 (no reference)\n`);
  printTable(
    ['backend', 'DPO loss@1', 'tfjs loss@1', 'DPO ms/step', 'DPO tok/s', 'tfjs DPO ms/step', 'tfjs DPO tok/s', 'DPO ratio', 'reward ms/step', 'PPO s/step', 'PPO episodes/s'],
    rows.map((r) => [
      r.backend, fixed(r.dpoFirstLoss, 4), fixed(r.peerFirstLoss, 4), fixed(r.dpoMs, 0), fixed(dpoTokens / (r.dpoMs / 1000), 0),
      r.peerDpoMs ? fixed(r.peerDpoMs, 0) : '—', r.peerDpoMs ? fixed(dpoTokens / (r.peerDpoMs / 1000), 0) : '—',
      r.peerDpoMs ? `${fixed(r.peerDpoMs / r.dpoMs)}×` : '—',
      fixed(r.rewardMs, 0), fixed(r.ppoMs / 1000, 2), fixed(PPO.prompts / (r.ppoMs / 1000), 1),
    ]),
  );
  for (const r of rows) if (r.peerError) console.log(`  tfjs ${r.backend} DPO failed: ${r.peerError}`);
  console.log();
  printTable(
    ['backend', 'GRPO s/step', 'generate s', 'completions/s', 'sampled tok/s', 'mean length', 'update s', 'update tok/s'],
    rows.map(({ backend, grpo: g }) => [
      backend, fixed((g.generateMs + g.updateMs) / 1000, 2), fixed(g.generateMs / 1000, 2), fixed(completions / (g.generateMs / 1000), 1),
      fixed((completions * g.completionTokens) / (g.generateMs / 1000), 0), fixed(g.completionTokens, 1), fixed(g.updateMs / 1000, 2), fixed(g.updateTokens / (g.updateMs / 1000), 0),
    ]),
  );
}

// Dawn's promises do not keep Node's event loop alive; hold it open until the end.
const keepAlive = setInterval(() => {}, 1 << 30);
await main();
clearInterval(keepAlive);
