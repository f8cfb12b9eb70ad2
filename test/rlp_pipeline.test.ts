// RLP's pipeline above the pieces (ALGORITHMS.md §4), in every runtime and on both backends:
// the RLP-UML reward trainer (Bradley–Terry plus the bottleneck, which adds nothing at λ = 0
// and changes the reward model otherwise), and the five-step experiment on a shrunken built-in
// task — its tables (win-rates of sampled answers, paired differences, the SPG ablation), the
// files of every stage, a reward model that learned, a rerun of one stage with the others
// loaded, a reward model larger than the policy, the audit of a preference file a user edited,
// and an equivalence that throws.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ConfigError, EquivalenceError, CausalLM, RewardTrainer, UMLRewardTrainer, builtinInstructionSource, byteTokenizer, gptConfig, instructionSplits, memoryRunStorage,
  rewardConfig, rlpRunConfig, runRLPExperiment, umlRewardConfig,
  type StageStepEvent,
} from 'webrlhf';
import { errorOf, rejectsWith } from './harness/rejects.js';
import { rewardFit, storedFolder } from './harness/reward_fit.js';
import { RLP_TINY as TINY } from './harness/pipeline_settings.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('rlp_pipeline');
const tokenizer = byteTokenizer();
const split = instructionSplits({ seed: 3, sft: 0, preference: 24, unlabeled: 0, eval: 0 });
const pairs = split.preference.map((e, i) => ({ prompt: e.prompt, chosen: e.answer, rejected: split.preference[(i + 1) % 24]!.answer }));
const views = split.preference.map((e, i) => ({ prompt: e.prompt, first: e.answer, second: i % 2 ? e.answer : `${e.answer}!` }));

/** A reward model with a zero score head, or a SEQ_CLS LoRA adapter with one (dropout off, so that runs compare exactly). */
async function rewardModel(adapter = false): Promise<CausalLM> {
  const base = CausalLM.create(await backend(), gptConfig({ vocab_size: tokenizer.vocabSize, n_positions: 64, n_embd: 32, n_layer: 1, n_head: 2 }), { seed: 5 });
  try {
    const lora = { r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: 'all-linear', task_type: 'SEQ_CLS' };
    return adapter ? await base.withAdapter(lora, { heads: { score: true } }) : await base.withHeads({ score: true });
  } finally {
    base.dispose();
  }
}

const settings = { seed: 1, learning_rate: 3e-3, max_steps: 4, per_device_train_batch_size: 8, max_length: 64, logging_steps: 1 };

async function trainUML(lambda: number, adapter = false) {
  const rm = await rewardModel(adapter);
  const metrics: Record<string, number>[] = [];
  const trainer = new UMLRewardTrainer({ model: rm, tokenizer, config: umlRewardConfig({ ...settings, mib_lambda: lambda, mib_latent: 4, mib_hidden: 8 }), train: pairs, views });
  try {
    await trainer.train({ onStep: (e) => metrics.push(e.metrics) });
  } finally {
    trainer.dispose();
  }
  const params = await rm.readParameters();
  rm.dispose();
  return { params, metrics };
}

const maxDifference = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) =>
  Math.max(...[...a].map(([name, x]) => Math.max(...x.map((v, i) => Math.abs(v - b.get(name)![i]!)))));

test('the RLP-UML reward trainer reports both losses, is the plain reward trainer at λ = 0, and moves the reward model otherwise', async () => {
  const uml = await trainUML(0.5);
  assert.is(uml.metrics.length, 4);
  for (const key of ['loss', 'bt_loss', 'accuracy', 'margin', 'mib_loss', 'mi_jsd', 'skl', 'grad_norm', 'mib_grad_norm']) {
    for (const m of uml.metrics) assert.ok(Number.isFinite(m[key]), `${key} = ${m[key]}`);
  }
  for (const m of uml.metrics) assert.ok(Math.abs(m.loss! - (m.bt_loss! + 0.5 * m.mib_loss!)) < 1e-4, 'loss = L_BT + λ·L_M');
  const zero = await trainUML(0);
  const rm = await rewardModel();
  await new RewardTrainer({ model: rm, tokenizer, config: rewardConfig(settings), train: pairs }).train();
  const plain = await rm.readParameters();
  rm.dispose();
  assert.ok(maxDifference(zero.params, plain) < 1e-6, `λ = 0 gives the plain reward model (max difference ${maxDifference(zero.params, plain)})`);
  assert.ok(maxDifference(uml.params, plain) > 1e-5, 'λ > 0 changes the reward model through the bottleneck');
});

test('the RLP-UML reward trainer trains a LoRA adapter: the plain reward trainer\'s adapter at λ = 0, moved by the bottleneck otherwise, the base untouched', async () => {
  const zero = await trainUML(0, true);
  const uml = await trainUML(0.5, true);
  const rm = await rewardModel(true);
  const base = await rm.readBaseParameters();
  await new RewardTrainer({ model: rm, tokenizer, config: rewardConfig(settings), train: pairs }).train();
  const plain = await rm.readParameters();
  assert.equal([...(await rm.readBaseParameters()).values()], [...base.values()], 'the base is frozen');
  rm.dispose();
  assert.ok([...plain.keys()].some((k) => k.includes('lora_A')) && plain.has('score.weight'), `the adapter's tensors: ${[...plain.keys()].slice(0, 3).join(', ')}`);
  assert.ok(maxDifference(zero.params, plain) < 1e-6, `λ = 0 gives the plain reward adapter (max difference ${maxDifference(zero.params, plain)})`);
  assert.ok(maxDifference(uml.params, plain) > 1e-5, 'λ > 0 changes the adapter through the bottleneck');
});

test('the RLP-UML reward trainer needs two view pairs for the critic', async () => {
  const rm = await rewardModel();
  try {
    assert.throws(() => new UMLRewardTrainer({ model: rm, tokenizer, config: umlRewardConfig(settings), train: pairs, views: views.slice(0, 1) }), (e: unknown) => e instanceof ConfigError && /two at least/.test((e as Error).message));
  } finally {
    rm.dispose();
  }
});

/** The pipeline shrunk to seconds: a tiny policy, a few prompts, a few steps per stage. */

const files = (storage: ReturnType<typeof memoryRunStorage>) => [...storage.files.keys()];

const ALL_STAGES = ['sft', 'reward', 'ppo', 'reward_uml', 'ppo_uml', 'reward_spg', 'ppo_spg', ...['policy_labelled', 'reward_ranked', 'gamma_0'].flatMap((v) => [`reward_spg_${v}`, `ppo_spg_${v}`])];

test('the RLP experiment trains every stage (the SPG ablation too), writes its outputs and gives every table; r_φ learned; a rerun loads the other stages and sets the old output aside', async () => {
  const be = await backend();
  // 6 epochs: enough steps for r_φ to fit its pairs (the learning check below: 96% of them on
  // both backends, 75% at 4 epochs); the other tests need no fit.
  const config = rlpRunConfig({ ...TINY, reward_num_train_epochs: 6, spg_ablation: ['policy_labelled', 'reward_ranked', 'gamma_0'] });
  const storage = memoryRunStorage();
  const lines: string[] = [];
  const steps = new Map<string, number[]>();
  const onStep = (e: StageStepEvent) => {
    assert.is(e.seed, 42);
    steps.set(e.stage, [...(steps.get(e.stage) ?? []), e.step]);
  };
  const first = await runRLPExperiment(be, config, builtinInstructionSource(be, config), { output: storage, log: (l) => lines.push(l), onStep });
  // Every trained stage reports each of its steps, in order, named as its folder is.
  assert.equal([...steps.keys()], ALL_STAGES);
  for (const [stage, seen] of steps) assert.equal(seen, seen.map((_, i) => i + 1), `${stage} steps`);
  assert.equal(first.table.map((r) => r.method), ['SFT', 'best-of-n (r_φ)', 'PPO', 'RLP-UML', 'RLP-SPG']);
  assert.equal(first.preferenceTable.map((r) => r.method), ['r_φ (D)', 'RLP-UML (D + λ·L_M)', 'RLP-SPG (D ∪ D̂)']);
  for (const row of first.table) assert.ok(row.mean >= 0 && row.mean <= 100, `${row.method} win-rate ${row.mean}`);
  const seed = first.seeds[0]!;
  // Sampled evaluation: each policy's score on a prompt averages its two answers.
  for (const key of ['sft', 'ppo', 'rlp_uml', 'rlp_spg', 'rlp_spg_policy_labelled', 'rlp_spg_reward_ranked', 'rlp_spg_gamma_0'] as const) {
    const w = seed.winRate[key]!;
    assert.equal([w.n, w.wins + w.draws + w.losses], [8, 16], `${key}: 8 prompts, 2 answers each`);
  }
  const best = seed.winRate.best_of_n!;
  assert.equal([best.n, best.wins + best.draws + best.losses], [8, 8], 'best-of-n: one pick per prompt');
  assert.equal(first.pairedTable.map((r) => r.method), ['PPO − SFT', 'best-of-n − SFT', 'RLP-UML − PPO', 'RLP-SPG − PPO', 'RLP-SPG − policy-labelled pairs', 'RLP-SPG − pairs ranked by r_φ', 'RLP-SPG − γ = 0']);
  const ppoSft = seed.pairedDifferences['ppo-sft']!;
  assert.ok(Math.abs(ppoSft.mean - (seed.winRate.ppo!.win_rate - seed.winRate.sft!.win_rate)) < 1e-9, 'the mean paired difference is the difference of the win-rates');
  assert.ok(ppoSft.low <= ppoSft.mean && ppoSft.mean <= ppoSft.high, JSON.stringify(ppoSft));
  assert.equal(first.ablationTable.map((r) => r.method), ['policy-labelled pairs', 'pairs ranked by r_φ', 'γ = 0', 'RLP-SPG']);
  for (const row of first.ablationTable) assert.ok(Number.isFinite(row.preferenceAccuracy.mean) && Number.isFinite(row.winRate.mean), row.method);
  assert.match(first.text, /paired difference, win-rate points/);
  assert.match(first.text, /^SPG ablation\s+preference accuracy vs gold\s+win-rate vs reference/m);
  assert.ok(seed.counts.spg_policy_labelled!.kept! + seed.counts.spg_policy_labelled!.dropped! === 8 && seed.counts.spg_gamma_0!.prompts === 8);
  assert.is(seed.counts.labelling!.pairs, 24);
  assert.is(seed.counts.reward_uml!.view_pairs, 8 * 2, 'two view pairs from four samples of each unlabeled prompt');
  assert.is(seed.counts.spg!.prompts, 8);
  const spg = seed.counts.spg!;
  assert.is(spg.kept! + spg.low_confidence! + spg.single_cluster!, 8);
  for (const stage of ALL_STAGES) {
    assert.ok(storage.files.has(`seed-42/${stage}/final/model.safetensors`), `${stage}/final: ${files(storage).filter((f) => f.includes(stage)).join(', ')}`);
  }
  const text = (path: string) => new TextDecoder().decode(storage.files.get(path)!);
  const jsonl = (path: string) => text(path).trim().split('\n').map((l) => JSON.parse(l));
  const samples = jsonl('seed-42/policy_samples.jsonl');
  assert.is(samples.length, 8);
  for (const s of samples) assert.ok(s.outputs.length === 4 && s.scores.length === 4 && s.scores.every(Number.isFinite) && s.logprobs.every((x: number) => x <= 0));
  const outputs = jsonl('seed-42/outputs.jsonl');
  assert.is(outputs.length, 8);
  assert.equal([outputs[0].outputs.ppo.length, outputs[0].preference.ppo.length], [2, 2], 'outputs.jsonl lists each policy\'s answers and codes');
  const results = JSON.parse(text('results.json'));
  assert.equal([results.table.length, results.pairedTable.length, results.ablationTable.length], [5, 7, 4]);
  assert.ok(Number.isFinite(results.seeds[0].pairedDifferences['rlp_spg-ppo'].high));
  // Something learned: r_φ ranks most of its own training pairs right (a reward model that never stepped ranks none).
  const fit = await rewardFit(be, storedFolder(storage, 'seed-42/reward/final'), jsonl('seed-42/preferences.jsonl'), config.n_positions);
  assert.ok(fit >= 0.75, `r_φ ranks ${(100 * fit).toFixed(0)}% of its training pairs right`);

  const rerun = rlpRunConfig({ ...TINY, reward_num_train_epochs: 6, rerun: 'ppo_spg' });
  const again = await runRLPExperiment(be, rerun, builtinInstructionSource(be, rerun), { output: storage, log: (l) => lines.push(l) });
  assert.ok(lines.some((l) => /sft: loaded from/.test(l)), 'the SFT policy is loaded, not retrained');
  assert.ok(storage.files.has('seed-42/ppo_spg.before-rerun-1/final/model.safetensors'), 'the earlier PPO run is set aside');
  assert.ok(storage.files.has('results.before-rerun-1.json') && storage.files.has('seed-42/outputs.before-rerun-1.jsonl'));
  for (const key of ['sft', 'best_of_n', 'ppo', 'rlp_uml'] as const) {
    assert.equal(again.seeds[0]!.winRate[key], seed.winRate[key], `${key}: the loaded policy judges the same`);
  }
});

test('the RLP experiment on a Qwen3 policy: every stage trains, and the policies are Qwen3 folders', async () => {
  const be = await backend();
  const config = rlpRunConfig({ ...TINY, model_type: 'qwen3', sft_max_steps: 20, ppo_total_episodes: 8 });
  const storage = memoryRunStorage();
  const result = await runRLPExperiment(be, config, builtinInstructionSource(be, config), { output: storage });
  assert.equal(result.table.map((r) => r.method), ['SFT', 'best-of-n (r_φ)', 'PPO', 'RLP-UML', 'RLP-SPG']);
  for (const row of result.table) assert.ok(row.mean >= 0 && row.mean <= 100, `${row.method} win-rate ${row.mean}`);
  for (const stage of ['sft', 'ppo_spg']) {
    const saved = JSON.parse(new TextDecoder().decode(storage.files.get(`seed-42/${stage}/final/config.json`)));
    assert.equal([saved.architectures, saved.num_key_value_heads], [['Qwen3ForCausalLM'], 1], stage);
  }
});

test('a reward model larger than the policy starts from its own base (stage reward_base); greedy evaluation answers once per prompt', async () => {
  const be = await backend();
  const config = rlpRunConfig({ ...TINY, method: 'spg', reward_n_embd: 48, reward_n_layer: 2, eval_decoding: 'greedy' });
  const storage = memoryRunStorage();
  const lines: string[] = [];
  const result = await runRLPExperiment(be, config, builtinInstructionSource(be, config), { output: storage, log: (l) => lines.push(l) });
  const saved = (stage: string) => JSON.parse(new TextDecoder().decode(storage.files.get(`seed-42/${stage}/final/config.json`)));
  for (const stage of ['reward_base', 'reward', 'reward_spg']) assert.equal([saved(stage).n_embd, saved(stage).n_layer], [48, 2], stage);
  for (const stage of ['sft', 'ppo', 'ppo_spg']) assert.equal([saved(stage).n_embd, saved(stage).n_layer], [32, 1], stage);
  assert.ok(lines.some((l) => /reward_base: 48 wide, 2 layer\(s\)/.test(l)));
  const w = result.seeds[0]!.winRate.ppo!;
  assert.equal([w.n, w.wins + w.draws + w.losses], [8, 8], 'greedy: one answer per prompt');
  assert.match(result.text, /win-rate vs reference, % \(greedy\)/);
  assert.throws(() => rlpRunConfig({ ...TINY, reward_n_embd: 48, use_peft: true }), errorOf(ConfigError, /use_peft/, /reward_n_embd/));
  assert.throws(() => rlpRunConfig({ ...TINY, reward_n_embd: 50, reward_n_head: 4 }), errorOf(ConfigError, /n_head \(4\) must divide their n_embd \(50\)/));
  assert.throws(() => rlpRunConfig({ spg_ablation: ['gamma_zero'] as never }), errorOf(ConfigError, /unknown row\(s\) gamma_zero/));
});

test('the RLP experiment audits a preference file before training on it, and rejects a rerun it cannot load', async () => {
  const be = await backend();
  const config = rlpRunConfig({ ...TINY, method: 'spg' });
  const storage = memoryRunStorage();
  const first = await runRLPExperiment(be, config, builtinInstructionSource(be, config), { output: storage });
  assert.equal(first.table.map((r) => r.method), ['SFT', 'best-of-n (r_φ)', 'PPO', 'RLP-SPG'], 'method spg leaves UML out');
  const path = 'seed-42/preferences.jsonl';
  const kept = new TextDecoder().decode(storage.files.get(path)!);
  const edited = `${kept}{"prompt":"Sort ascending: 3 1\\n","chosen":"1 3","rejected":"1 3"}\n{"prompt":"Sort ascending: 3 1\\n","chosen":"1 3"}\n`;
  await storage.write(path, new TextEncoder().encode(edited));
  const rerun = rlpRunConfig({ ...TINY, method: 'spg', rerun: 'reward' });
  const again = await runRLPExperiment(be, rerun, builtinInstructionSource(be, rerun), { output: storage });
  assert.is(again.seeds[0]!.counts.preferences!.identical_left_out, 1);
  assert.is(again.seeds[0]!.counts.preferences!.missing_field_left_out, 1);
  assert.is(again.seeds[0]!.counts.preferences!.pairs, kept.trim().split('\n').length);

  await rejectsWith(runRLPExperiment(be, rlpRunConfig({ ...TINY, rerun: 'ppo' }), builtinInstructionSource(be, config)), errorOf(ConfigError, /output folder/), 'rerun without a folder');
  const fresh = memoryRunStorage();
  await rejectsWith(
    runRLPExperiment(be, rlpRunConfig({ ...TINY, rerun: 'ppo' }), builtinInstructionSource(be, config), { output: fresh }),
    errorOf(ConfigError, /stage sft's model/, /add sft to rerun/),
    'rerun of a stage whose inputs were never made',
  );
  assert.throws(() => rlpRunConfig({ rerun: 'ppo,rewrd' }), (e: unknown) => e instanceof ConfigError && /unknown stage\(s\) rewrd/.test((e as Error).message));
});

test("a source whose starting policy trains no stage of its own still gets its seed's files written", async () => {
  const be = await backend();
  const config = rlpRunConfig({ ...TINY, method: 'spg' });
  const source = builtinInstructionSource(be, config);
  // A loaded policy opens no run folder (here: SFT without one), so the seed's folder must not depend on it.
  const own = { ...source, startPolicy: (seed: number) => source.startPolicy(seed, async () => ({})) };
  const storage = memoryRunStorage();
  await runRLPExperiment(be, config, own, { output: storage });
  assert.ok(storage.files.has('seed-42/preferences.jsonl'));
  assert.ok(!storage.files.has('seed-42/sft/config.json'), 'the policy was not trained in a stage folder');
});

test('an SPG equivalence that throws stops the run with an error naming the prompt', async () => {
  const be = await backend();
  const config = rlpRunConfig({ ...TINY, method: 'spg' });
  const source = builtinInstructionSource(be, config);
  const broken = { ...source, equivalence: () => { throw new Error('the NLI model is not loaded'); } };
  await rejectsWith(runRLPExperiment(be, config, broken), errorOf(EquivalenceError, /prompt/), 'a throwing equivalence');
});

test.run();
