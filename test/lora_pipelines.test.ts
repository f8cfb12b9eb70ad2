// LoRA through the research pipelines (Node only: they are the same JavaScript in every runtime,
// and LoRA's kernels and files run in every leg in the lora suite): RLP with use_peft trains
// every stage after SFT as an adapter on the frozen SFT policy — saved as PEFT files, loaded
// back onto that policy by a rerun, and holding far less memory than full fine-tuning — and
// RLMEC's GRM, policy and baselines are adapters on the frozen start.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ConfigError, builtinArithmeticSource, builtinInstructionSource, memoryRunStorage, rlmecRunConfig, rlpRunConfig, runRLMECExperiment, runRLPExperiment,
  type RLPRunConfig, type StageStepEvent,
} from 'webrlhf';
import { RLP_TINY as TINY } from './harness/pipeline_settings.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('lora pipelines');

test('the RLP experiment with use_peft: every stage after SFT is a LoRA adapter on the frozen SFT policy, saved as PEFT files, and no stage holds a copy of its weights', async () => {
  const be = await backend();
  // Wider than TINY and with small batches, so that the weights, not the activations, tell the runs apart.
  const settings: Partial<RLPRunConfig> = { ...TINY, method: 'uml', n_embd: 64, n_layer: 2, reward_batch_size: 8, reward_num_train_epochs: 1, ppo_batch_size: 4, generation_batch_size: 16, ppo_total_episodes: 8 };
  /** The most device bytes in use during each stage's steps, beyond those in use before the run. */
  const run = async (options: Partial<RLPRunConfig>) => {
    const config = rlpRunConfig({ ...settings, ...options });
    const storage = memoryRunStorage();
    const bytes = new Map<string, number>();
    const before = be.memory().bytes;
    const onStep = (e: StageStepEvent) => bytes.set(e.stage, Math.max(bytes.get(e.stage) ?? 0, be.memory().bytes - before));
    const result = await runRLPExperiment(be, config, builtinInstructionSource(be, config), { output: storage, onStep });
    return { result, storage, bytes };
  };
  const peft = { use_peft: true, lora_r: 4, lora_target_modules: 'all-linear' };
  const lora = await run(peft);
  assert.equal(lora.result.table.map((r) => r.method), ['SFT', 'best-of-n (r_φ)', 'PPO', 'RLP-UML']);
  for (const row of lora.result.table) assert.ok(row.mean >= 0 && row.mean <= 100, `${row.method} win-rate ${row.mean}`);
  const files = lora.storage.files;
  const weights = files.get('seed-42/sft/final/model.safetensors')?.length ?? 0;
  assert.ok(weights > 0, 'SFT trains the model itself');
  const json = (path: string) => JSON.parse(new TextDecoder().decode(files.get(path)!));
  for (const stage of ['reward', 'ppo', 'reward_uml', 'ppo_uml']) {
    assert.ok(files.has(`seed-42/${stage}/final/adapter_model.safetensors`), `${stage}/final holds an adapter`);
    assert.not.ok(files.has(`seed-42/${stage}/final/model.safetensors`), `${stage}/final holds no copy of the weights`);
    const adapter = json(`seed-42/${stage}/final/adapter_config.json`);
    assert.is(adapter.r, 4);
    assert.is(adapter.task_type, stage.startsWith('reward') ? 'SEQ_CLS' : 'CAUSAL_LM', stage);
  }
  // A rerun loads each adapter onto the SFT policy it loaded: the policies and r_φ judge as before.
  const rerun = rlpRunConfig({ ...settings, ...peft, rerun: 'ppo_uml' });
  const lines: string[] = [];
  const again = await runRLPExperiment(be, rerun, builtinInstructionSource(be, rerun), { output: lora.storage, log: (l) => lines.push(l) });
  for (const stage of ['sft', 'reward', 'ppo', 'reward_uml']) assert.ok(lines.some((l) => l.includes(`${stage}: loaded from`)), `${stage} is loaded`);
  for (const key of ['sft', 'best_of_n', 'ppo'] as const) assert.equal(again.seeds[0]!.winRate[key], lora.result.seeds[0]!.winRate[key], `${key}: the loaded policy judges the same`);
  assert.equal(again.seeds[0]!.preferenceAccuracy.reward, lora.result.seeds[0]!.preferenceAccuracy.reward, 'the loaded reward adapter scores the same');
  // At the last PPO run, full fine-tuning holds SFT, three trained models, and the policy and
  // value model with their gradients and AdamW's moments: ten copies of the weights and more
  // beyond the adapter run's one.
  const full = await run({});
  const saved = full.bytes.get('ppo_uml')! - lora.bytes.get('ppo_uml')!;
  assert.ok(saved > 8 * weights, `the adapter run holds ${saved} bytes less than full fine-tuning, ${(saved / weights).toFixed(1)} copies of the ${weights} bytes of weights`);
  // A 16-bit base is frozen: only adapters train on it (webrlhf rlp --use_peft --dtype bfloat16 runs in the cli_rlp suite).
  assert.throws(() => rlpRunConfig({ dtype: 'bfloat16' }), (e: unknown) => e instanceof ConfigError && /set use_peft true/.test((e as Error).message));
});

test('the RLMEC experiment with use_peft: the GRM, the policy and every baseline are LoRA adapters on the frozen start, saved as PEFT files', async () => {
  const be = await backend();
  const config = rlmecRunConfig({
    n_embd: 32, n_layer: 1, n_head: 2, n_positions: 320, sft_max_steps: 150, sft_learning_rate: 1e-2, task_difficulty: 1,
    task_sft_problems: 256, task_rl_problems: 12, task_test_problems: 4, num_samples: 3, max_new_tokens: 24,
    grm_max_steps: 3, max_steps: 2, ppo_batch_size: 6, grpo_batch_size: 6, tokens_html_samples: 2,
    use_peft: true, lora_r: 4, lora_target_modules: 'all-linear',
  });
  const storage = memoryRunStorage();
  const trained = new Set<string>();
  const result = await runRLMECExperiment(be, config, builtinArithmeticSource(be, config), { output: storage, onStep: (e) => trained.add(e.stage) });
  assert.equal(result.table.map((r) => r.method), ['SFT (start)', 'SFT on RL problems', 'SFT on all problems → RLMEC', 'RFT', 'DPO', 'PPO', 'RLOO (accuracy)', 'GRPO (accuracy)', 'GRPO + GRM token rewards', 'RLMEC']);
  const files = storage.files;
  assert.ok(files.has('seed-42/sft/final/model.safetensors'), 'the built-in start trains in full');
  const adapted = [...trained].filter((stage) => stage !== 'sft');
  for (const stage of ['grm', 'rlmec', 'sft_more', 'sft_more_rlmec', 'ppo', 'rloo', 'grpo', 'grpo_grm']) assert.ok(adapted.includes(stage), `${stage} trained: ${adapted.join(', ')}`);
  for (const stage of adapted) {
    assert.ok(files.has(`seed-42/${stage}/final/adapter_config.json`) && files.has(`seed-42/${stage}/final/adapter_model.safetensors`), `${stage}/final holds an adapter`);
    assert.not.ok(files.has(`seed-42/${stage}/final/model.safetensors`), `${stage}/final holds no copy of the weights`);
    assert.is(JSON.parse(new TextDecoder().decode(files.get(`seed-42/${stage}/final/adapter_config.json`)!)).r, 4);
  }
});

test.run();
