// `webrlhf rlp` end to end on a shrunken built-in task: every table printed (win-rates,
// preference accuracy, paired differences, the SPG ablation), results.json and every stage's
// output on disk, a reward model that learned, a rerun of one stage that keeps the earlier
// output, and the errors a user meets first (an unknown stage, an unknown key).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../src/cli/main.js';
import { quiet } from './harness/console.js';
import { rewardFit } from './harness/reward_fit.js';
import { legBackend, legBackendInstance } from './harness/runtime.js';

const test = suite('cli rlp');

let root = '';
const path = (...p: string[]) => join(root, ...p);

/** A built-in run small enough for a test. */
const TINY = [
  '--n_embd', '32', '--n_layer', '1', '--n_head', '2', '--n_positions', '80', '--sft_max_steps', '40', '--sft_learning_rate', '1e-2', '--max_new_tokens', '12',
  '--task_sft_prompts', '200', '--task_preference_prompts', '24', '--task_unlabeled_prompts', '8', '--task_eval_prompts', '8',
  '--reward_num_train_epochs', '16', '--reward_batch_size', '8', '--ppo_total_episodes', '16', '--ppo_batch_size', '8', '--best_of_n', '2', '--rlp_num_samples', '4',
  '--eval_samples_per_prompt', '2', '--eval_bootstrap_resamples', '50',
];
/** TINY without the SPG ablation's three extra reward models and PPO runs. */
const NO_ABLATION = [...TINY, '--spg_ablation', 'none'];

const cli = (...args: string[]) => quiet(() => main(['rlp', ...args, '--backend', legBackend()]));

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'webrlhf-rlp-'));
});

test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('webrlhf rlp --seeds 2 prints the win-rate, preference-accuracy, paired-difference and SPG ablation tables and writes every stage; r_φ learned; --rerun keeps the earlier output', async () => {
  const r = await cli(...TINY, '--seeds', '2', '--output_dir', path('run'));
  assert.is(r.result, 0, r.err);
  for (const label of ['SFT', 'best-of-n \\(r_φ\\)', 'PPO', 'RLP-UML', 'RLP-SPG']) assert.match(r.out, new RegExp(`^${label}\\s+\\d+\\.\\d ± \\d+\\.\\d`, 'm'));
  assert.match(r.out, /win-rate vs reference, % \(2 sample\(s\) per prompt at T = 1\)/);
  assert.match(r.out, /preference accuracy vs gold/);
  // Paired differences: mean ± s.e. over the seeds, then each seed's mean and bootstrap interval.
  for (const label of ['PPO − SFT', 'RLP-UML − PPO', 'RLP-SPG − PPO', 'RLP-SPG − γ = 0']) {
    assert.match(r.out, new RegExp(`^${label}\\s+[+−]\\d+\\.\\d ± \\d+\\.\\d\\s+[+−]\\d+\\.\\d \\[[+−]\\d+\\.\\d, [+−]\\d+\\.\\d\\]`, 'm'), label);
  }
  // The SPG ablation: four rows, each with preference accuracy and win-rate.
  for (const label of ['policy-labelled pairs', 'pairs ranked by r_φ', 'γ = 0', 'RLP-SPG']) {
    assert.match(r.out, new RegExp(`^${label}\\s+\\d+\\.\\d% ± \\d+\\.\\d%\\s+\\d+\\.\\d ± \\d+\\.\\d$`, 'm'), label);
  }
  assert.match(r.err, /preferences: pairs 24/);
  const results = JSON.parse(await readFile(path('run', 'results.json'), 'utf8'));
  assert.is(results.seeds.length, 2);
  assert.equal([results.table.length, results.pairedTable.length, results.ablationTable.length], [5, 7, 4]);
  const stages = ['sft', 'reward', 'ppo', 'reward_uml', 'ppo_uml', 'reward_spg', 'ppo_spg', 'reward_spg_policy_labelled', 'ppo_spg_reward_ranked', 'ppo_spg_gamma_0'];
  for (const seed of ['seed-42', 'seed-43']) {
    for (const stage of stages) assert.ok(existsSync(path('run', seed, stage, 'final', 'model.safetensors')), `${seed}/${stage}`);
    for (const file of ['preferences.jsonl', 'policy_samples.jsonl', 'synthetic_preferences.jsonl', 'synthetic_preferences_policy_labelled.jsonl', 'outputs.jsonl']) {
      assert.ok(existsSync(path('run', seed, file)), `${seed}/${file}`);
    }
    // Something learned: r_φ ranks most of its own training pairs right (one that never stepped ranks none).
    const D = (await readFile(path('run', seed, 'preferences.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const fit = await rewardFit(await legBackendInstance(), path('run', seed, 'reward', 'final'), D, 80);
    assert.ok(fit >= 0.75, `${seed}: r_φ ranks ${(100 * fit).toFixed(0)}% of its training pairs right`);
  }
  const again = await cli(...TINY, '--seeds', '2', '--output_dir', path('run'), '--rerun', 'ppo_uml');
  assert.is(again.result, 0, again.err);
  assert.match(again.err, /seed 43: reward_uml: loaded from/);
  assert.ok(existsSync(path('run', 'seed-43', 'ppo_uml.before-rerun-1', 'final', 'model.safetensors')), 'the earlier ppo_uml is kept');
  assert.ok(existsSync(path('run', 'results.before-rerun-1.json')));
  const fresh = await cli(...TINY, '--output_dir', path('run'));
  assert.is(fresh.result, 1, 'a new run into the same folder is refused');
  assert.match(fresh.err, /already holds a run/);
});

test('webrlhf rlp --use_peft true on a Llama policy with a bf16 base: every stage after SFT is an adapter folder on the SFT stage\'s model', async () => {
  const r = await cli(...NO_ABLATION, '--model_type', 'llama', '--use_peft', 'true', '--lora_r', '4', '--dtype', 'bfloat16', '--output_dir', path('peft'));
  assert.is(r.result, 0, r.err);
  for (const label of ['SFT', 'PPO', 'RLP-UML', 'RLP-SPG']) assert.match(r.out, new RegExp(`^${label}\\s+\\d+\\.\\d`, 'm'));
  const seed = path('peft', 'seed-42');
  assert.is(JSON.parse(await readFile(join(seed, 'sft', 'final', 'config.json'), 'utf8')).model_type, 'llama');
  for (const stage of ['reward', 'ppo', 'reward_uml', 'ppo_uml', 'reward_spg', 'ppo_spg']) {
    assert.not.ok(existsSync(join(seed, stage, 'final', 'model.safetensors')), `${stage}: no copy of the weights`);
    const config = JSON.parse(await readFile(join(seed, stage, 'final', 'adapter_config.json'), 'utf8'));
    assert.is(config.task_type, stage.startsWith('reward') ? 'SEQ_CLS' : 'CAUSAL_LM', stage);
  }
});

test('webrlhf rlp names an unknown stage or key, and --help lists the stages and keys', async () => {
  const stage = await cli('--rerun', 'ppo,rewrd');
  assert.is(stage.result, 1);
  assert.match(stage.err, /unknown stage\(s\) rewrd; the stages are sft, reward_base, preferences/);
  const key = await cli('--mib_lamda', '0.3');
  assert.is(key.result, 1);
  assert.match(key.err, /mib_lamda/);
  assert.match(key.err, /mib_lambda/, 'the nearest key is suggested');
  const help = await cli('--help');
  assert.is(help.result, 0);
  assert.match(help.out, /--rerun STAGE/);
  assert.match(help.out, /spg_gamma/);
  for (const key of ['eval_decoding', 'eval_samples_per_prompt', 'reward_n_embd', 'spg_ablation']) assert.match(help.out, new RegExp(key));
});

test.run();
