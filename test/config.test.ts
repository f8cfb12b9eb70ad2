// Trainer configs: defaults, the PPO presets, layering (defaults < preset < file < flags),
// flags in both spellings, describeConfig, and every error naming the key and its source.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ConfigError, DPO_CONFIG, PPO_CONFIG, PPO_PRESETS, REWARD_CONFIG, SFT_CONFIG, TRAINER_CONFIGS, checkConfigLayer, configFlags, describeConfig,
  dpoConfig, isValidValue, mergeConfig, ppoConfig, requireKeys, resolveConfig, rewardConfig, schemaDefaults, sftConfig,
  type ConfigSchema, type KeySpec, type PPOConfig, type SFTConfig,
} from 'webrlhf';
import { closest, editDistance } from '../src/training/config/suggest.js';

const test = suite('configs');

function configError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.is(e.code, 'CONFIG');
    return e.message;
  }
  throw new Error('expected a ConfigError');
}

const schemas = Object.values(TRAINER_CONFIGS) as ConfigSchema<object>[];

test('shared defaults are Transformers\' names and values; each trainer has its own learning rate and output_dir', () => {
  const c = sftConfig();
  const shared: Partial<SFTConfig> = {
    output_dir: 'runs/sft', seed: 42, lr_scheduler_type: 'linear', warmup_steps: 0, warmup_ratio: 0, num_train_epochs: 1, max_steps: -1,
    per_device_train_batch_size: 8, per_device_eval_batch_size: 8, gradient_accumulation_steps: 1, logging_steps: 1, eval_steps: null,
    save_steps: 500, save_total_limit: null, adam_beta1: 0.9, adam_beta2: 0.999, adam_epsilon: 1e-8, weight_decay: 0, max_grad_norm: 1,
    model_name_or_path: null, train_file: null, eval_file: null, skip_bad_lines: false, backend: 'auto', resume_from_checkpoint: false,
  };
  for (const [k, v] of Object.entries(shared)) assert.equal(c[k as keyof SFTConfig], v, k);
  assert.equal([c.learning_rate, c.max_length, c.completion_only_loss], [2e-5, 1024, true]);
  const r = rewardConfig();
  assert.equal([r.learning_rate, r.max_length, r.center_rewards_coefficient, r.drop_identical, r.output_dir], [1e-4, 1024, null, true, 'runs/reward']);
  const d = dpoConfig();
  assert.equal(
    [d.learning_rate, d.beta, d.loss_type, d.max_length, d.max_prompt_length, d.ref_model_name_or_path, d.drop_identical, d.output_dir],
    [1e-6, 0.1, 'sigmoid', 1024, 512, null, true, 'runs/dpo'],
  );
  const p = ppoConfig();
  assert.equal(
    [p.learning_rate, p.preset, p.response_length, p.num_mini_batches, p.stop_token_id, p.missing_eos_penalty, p.total_episodes, p.local_rollout_forward_batch_size],
    [3e-6, 'trl', 53, 1, null, null, null, 64],
  );
  assert.equal([p.adaptive_kl_ctrl, p.kl_target, p.adaptive_kl_rate, p.sft_model_path, p.reward_model_path, p.value_model_path], [false, 6, 0.1, null, null, null]);
  assert.not.ok('model_name_or_path' in p, 'PPO names its policy sft_model_path');
});

test('every default and every preset value is a valid value of its key', () => {
  for (const schema of schemas) {
    for (const [k, spec] of Object.entries(schema.keys as Record<string, KeySpec>)) {
      assert.ok(isValidValue(spec, spec.default), `${schema.name}.${k} default ${String(spec.default)}`);
      assert.ok(spec.doc.length > 10, `${schema.name}.${k} has a doc line`);
    }
  }
  for (const [name, preset] of Object.entries(PPO_PRESETS)) checkConfigLayer(PPO_CONFIG, preset, `preset ${name}`);
});

test('PPO presets are ALGORITHMS.md §3; "trl" equals the plain defaults; keys the user sets win', () => {
  const trl = ppoConfig();
  assert.equal(
    [trl.kl_coef, trl.kl_estimator, trl.cliprange, trl.cliprange_value, trl.vf_coef, trl.gamma, trl.lam, trl.whiten_rewards, trl.num_ppo_epochs, trl.temperature, trl.adam_epsilon],
    [0.05, 'k1', 0.2, 0.2, 0.1, 1, 0.95, false, 4, 0.7, 1e-8],
  );
  assert.equal({ ...ppoConfig({ preset: null }), preset: 'trl' }, trl);
  assert.equal(schemaDefaults(PPO_CONFIG), trl, 'the trl preset changes nothing');
  const af = ppoConfig({ preset: 'alpacafarm' });
  assert.equal(
    [af.kl_coef, af.kl_estimator, af.gamma, af.lam, af.whiten_rewards, af.num_ppo_epochs, af.cliprange, af.cliprange_value, af.vf_coef, af.temperature, af.adam_epsilon],
    [0.0067, 'clamped', 1, 1, true, 2, 0.2, 0.2, 0.1, 1.0, 1e-5],
  );
  const human = ppoConfig({ preset: 'alpacafarm', kl_coef: 0.02, adam_epsilon: 1e-6 });
  assert.equal([human.kl_coef, human.adam_epsilon, human.lam], [0.02, 1e-6, 1]);
});

test('layering: defaults < preset < file < flags; the last layer that names a preset picks it', () => {
  const file = checkConfigLayer(PPO_CONFIG, { preset: 'alpacafarm', lam: 0.9, learning_rate: 1e-5, seed: 7 }, 'ppo.json');
  const flags = configFlags(PPO_CONFIG, ['--learning-rate', '2e-5', '--whiten_rewards', 'false']).values;
  const c = mergeConfig(PPO_CONFIG, [file, flags]);
  assert.equal([c.learning_rate, c.lam, c.seed, c.whiten_rewards, c.kl_estimator, c.adam_epsilon], [2e-5, 0.9, 7, false, 'clamped', 1e-5]);
  const back = mergeConfig(PPO_CONFIG, [file, configFlags(PPO_CONFIG, ['--preset', 'trl']).values]);
  assert.equal([back.preset, back.kl_estimator, back.lam, back.learning_rate], ['trl', 'k1', 0.9, 1e-5]);
  // Unset keys in an options object are not values.
  assert.is(sftConfig({ learning_rate: undefined }).learning_rate, 2e-5);
  assert.equal(resolveConfig(SFT_CONFIG, undefined), sftConfig());
});

test('unknown keys: the key and source named, with a suggestion by spelling', () => {
  assert.is(configError(() => resolveConfig(SFT_CONFIG, { learning_rte: 1e-4 }, 'config.json')), 'config.json: unknown key "learning_rte"; did you mean "learning_rate"?');
  assert.is(configError(() => resolveConfig(SFT_CONFIG, { Learning_Rate: 1e-4 }, 'c.json')), 'c.json: unknown key "Learning_Rate"; did you mean "learning_rate"?');
  assert.is(configError(() => resolveConfig(SFT_CONFIG, { batch_size: 4 }, 'c.json')), 'c.json: unknown key "batch_size"; did you mean "per_device_train_batch_size"?');
  assert.is(configError(() => resolveConfig(PPO_CONFIG, { kl_coeff: 0.1 }, 'c.json')), 'c.json: unknown key "kl_coeff"; did you mean "kl_coef"?');
  assert.is(configError(() => resolveConfig(SFT_CONFIG, { xyzzy: 1 }, 'c.json')), 'c.json: unknown key "xyzzy"; it is not a key of the SFT config (docs/CONFIG.md lists them)');
  assert.match(configError(() => ppoConfig({ model_name_or_path: 'x' } as unknown as Partial<PPOConfig>)), /unknown key "model_name_or_path"/);
});

test('wrong types, ranges, enums and nulls name the key, what it takes and what it got', () => {
  const on = <T extends object>(schema: ConfigSchema<T>, input: Record<string, unknown>) => () => resolveConfig(schema, input, 'config.json');
  const cases: [() => unknown, string][] = [
    [on(SFT_CONFIG, { per_device_train_batch_size: '8' }), '"per_device_train_batch_size" must be an integer ≥ 1, got "8"'],
    [on(SFT_CONFIG, { per_device_train_batch_size: 0 }), '"per_device_train_batch_size" must be an integer ≥ 1, got 0'],
    [on(SFT_CONFIG, { gradient_accumulation_steps: 2.5 }), '"gradient_accumulation_steps" must be an integer ≥ 1, got 2.5'],
    [on(SFT_CONFIG, { learning_rate: -1 }), '"learning_rate" must be a number ≥ 0, got -1'],
    [on(SFT_CONFIG, { warmup_ratio: 1.5 }), '"warmup_ratio" must be a number in [0, 1], got 1.5'],
    [on(SFT_CONFIG, { adam_beta2: 1 }), '"adam_beta2" must be a number in [0, 1), got 1'],
    [on(SFT_CONFIG, { num_train_epochs: 0 }), '"num_train_epochs" must be a number > 0, got 0'],
    [on(SFT_CONFIG, { max_steps: -2 }), '"max_steps" must be an integer ≥ -1, got -2'],
    [on(SFT_CONFIG, { completion_only_loss: 'yes' }), '"completion_only_loss" must be true or false, got "yes"'],
    [on(SFT_CONFIG, { output_dir: null }), '"output_dir" must be a string, got null'],
    [on(SFT_CONFIG, { lr_scheduler_type: 'cosine_with_restarts' }), '"lr_scheduler_type" must be one of "constant", "constant_with_warmup", "linear", "cosine", got "cosine_with_restarts"'],
    [on(SFT_CONFIG, { backend: 'cuda' }), '"backend" must be one of "auto", "webgpu", "wasm", got "cuda"'],
    [on(SFT_CONFIG, { eval_steps: 'often' }), '"eval_steps" must be an integer ≥ 1 or null, got "often"'],
    [on(SFT_CONFIG, { resume_from_checkpoint: 3 }), '"resume_from_checkpoint" must be true, false or a string, got 3'],
    [on(SFT_CONFIG, { learning_rate: Number.NaN }), '"learning_rate" must be a number ≥ 0, got NaN'],
    [on(PPO_CONFIG, { kl_estimator: 'k2' }), '"kl_estimator" must be one of "k1", "k3", "clamped", got "k2"'],
    [on(PPO_CONFIG, { preset: 'openai' }), '"preset" must be one of "trl", "alpacafarm" or null, got "openai"'],
    [on(PPO_CONFIG, { temperature: 0 }), '"temperature" must be a number > 0, got 0'],
    [on(PPO_CONFIG, { gamma: 1.01 }), '"gamma" must be a number in [0, 1], got 1.01'],
    [on(DPO_CONFIG, { loss_type: 'ipo' }), '"loss_type" must be "sigmoid", got "ipo"'],
    [on(REWARD_CONFIG, { center_rewards_coefficient: -0.01 }), '"center_rewards_coefficient" must be a number ≥ 0 or null, got -0.01'],
  ];
  for (const [resolve, message] of cases) assert.is(configError(resolve), `config.json: ${message}`);
  assert.is(configError(() => resolveConfig(SFT_CONFIG, [1], 'config.json')), 'config.json: the SFT config is an object of keys and values, got an array');
  assert.is(configError(() => resolveConfig(SFT_CONFIG, 'lr=1', 'config.json')), 'config.json: the SFT config is an object of keys and values, got "lr=1"');
  // Nullable keys take null; resume takes a path or a boolean.
  assert.is(sftConfig({ eval_steps: null, save_total_limit: 3 }).save_total_limit, 3);
  assert.is(sftConfig({ resume_from_checkpoint: 'runs/sft/checkpoint-500' }).resume_from_checkpoint, 'runs/sft/checkpoint-500');
});

test('checks between keys, on the merged config', () => {
  assert.is(
    configError(() => dpoConfig({ max_length: 256 })),
    'DPO options: max_prompt_length (512) must be less than max_length (256) to leave room for the completion; lower max_prompt_length or raise max_length',
  );
  assert.is(dpoConfig({ max_length: 256, max_prompt_length: 128 }).max_prompt_length, 128);
  assert.is(
    configError(() => mergeConfig(SFT_CONFIG, [{ max_steps: 10 }, { warmup_steps: 20 }], 'sft.json + command line')),
    'sft.json + command line: warmup_steps (20) is more than max_steps (10); lower warmup_steps or raise max_steps',
  );
});

test('flags: both spellings, =, booleans alone or with a value, --no-, null, enums, negative numbers', () => {
  const f = (...argv: string[]) => configFlags(SFT_CONFIG, argv).values;
  assert.equal(f('--learning_rate', '1e-4'), { learning_rate: 1e-4 });
  assert.equal(f('--learning-rate', '1e-4'), { learning_rate: 1e-4 });
  assert.equal(f('--learning_rate=1e-4', '--per-device-train-batch-size=4'), { learning_rate: 1e-4, per_device_train_batch_size: 4 });
  assert.equal(f('--max_steps', '-1', '--seed', '+3'), { max_steps: -1, seed: 3 });
  assert.equal(f('--completion_only_loss'), { completion_only_loss: true });
  assert.equal(f('--completion-only-loss', 'false', '--skip_bad_lines', 'true'), { completion_only_loss: false, skip_bad_lines: true });
  assert.equal(f('--no-completion-only-loss', '--no_skip_bad_lines'), { completion_only_loss: false, skip_bad_lines: false });
  assert.equal(f('--completion_only_loss=false'), { completion_only_loss: false });
  assert.equal(f('--eval_steps', 'null', '--save-total-limit', 'None'), { eval_steps: null, save_total_limit: null });
  assert.equal(f('--lr_scheduler_type', 'cosine', '--output_dir', 'runs/x', '--model-name-or-path', './gpt2'), { lr_scheduler_type: 'cosine', output_dir: 'runs/x', model_name_or_path: './gpt2' });
  assert.equal(f('--seed', '1', '--seed', '2'), { seed: 2 }, 'the last one wins');
  // resume_from_checkpoint: alone (or as --resume) true, else the path; --no-resume false.
  assert.equal(f('--resume'), { resume_from_checkpoint: true });
  assert.equal(f('--resume', '--seed', '1'), { resume_from_checkpoint: true, seed: 1 });
  assert.equal(f('--resume-from-checkpoint', 'runs/sft/checkpoint-10'), { resume_from_checkpoint: 'runs/sft/checkpoint-10' });
  assert.equal(f('--resume_from_checkpoint', 'false'), { resume_from_checkpoint: false });
  assert.equal(f('--no-resume'), { resume_from_checkpoint: false });
  assert.equal(configFlags(PPO_CONFIG, ['--preset', 'null']).values, { preset: null });
});

test('flags: extra command flags are returned apart', () => {
  const { values, extra } = configFlags(SFT_CONFIG, ['--config', 'sft.json', '--seed', '3', '--help', '--dry-run', 'false'], {
    extra: { config: 'string', help: 'boolean', dry_run: 'boolean' },
  });
  assert.equal(values, { seed: 3 });
  assert.equal(extra, { config: 'sft.json', help: true, dry_run: false });
  assert.is(configError(() => configFlags(SFT_CONFIG, ['--config'], { extra: { config: 'string' } })), 'command line: --config needs a value (--config VALUE or --config=VALUE)');
  assert.is(configError(() => configFlags(SFT_CONFIG, ['--help=maybe'], { extra: { help: 'boolean' } })), 'command line: --help is true or false, got "maybe"');
});

test('flags: errors name the flag, with a suggestion for a misspelling', () => {
  const err = (...argv: string[]) => configError(() => configFlags(SFT_CONFIG, argv, { extra: { config: 'string' } }));
  assert.is(err('--learning_rte', '1'), 'command line: unknown option --learning_rte; did you mean --learning_rate?');
  assert.is(err('--learning-rte', '1'), 'command line: unknown option --learning-rte; did you mean --learning_rate?');
  assert.is(err('--confg', 'x.json'), 'command line: unknown option --confg; did you mean --config?');
  assert.is(err('--xyzzy'), 'command line: unknown option --xyzzy; run the command with --help to list its options');
  assert.is(err('--no-learning-rate'), 'command line: --no-learning-rate: --learning-rate is not true or false, so it has no --no- form; give it a value (--learning-rate VALUE)');
  assert.is(err('--no-such-thing'), 'command line: unknown option --no-such-thing; run the command with --help to list its options');
  assert.is(err('--learning_rate', 'fast'), 'command line: "learning_rate" must be a number ≥ 0, got "fast"');
  assert.is(err('--per_device_train_batch_size', '8.5'), 'command line: "per_device_train_batch_size" must be an integer ≥ 1, got 8.5');
  assert.is(err('--lr_scheduler_type', 'step'), 'command line: "lr_scheduler_type" must be one of "constant", "constant_with_warmup", "linear", "cosine", got "step"');
  assert.is(err('--completion_only_loss', 'yes'), 'command line: unexpected argument "yes"; options take the form --key value or --key=value');
  assert.is(err('--completion_only_loss=yes'), 'command line: "completion_only_loss" must be true or false, got "yes"');
  assert.is(err('--learning_rate'), 'command line: --learning_rate needs a value (--learning_rate VALUE or --learning_rate=VALUE)');
  assert.is(err('--learning_rate', '--seed', '1'), 'command line: --learning_rate needs a value (--learning_rate VALUE or --learning_rate=VALUE)');
  assert.is(err('--eval_steps', 'null', '--seed', 'none'), 'command line: "seed" must be an integer ≥ 0, got "none"');
  assert.is(err('--no-completion-only-loss=true'), 'command line: --no-completion-only-loss takes no value; it sets --completion-only-loss to false');
  assert.is(err('train.jsonl'), 'command line: unexpected argument "train.jsonl"; options take the form --key value or --key=value');
  assert.is(err('-h'), 'command line: unexpected argument "-h"; options take the form --key value or --key=value');
});

test('requireKeys names what is missing and how to set it', () => {
  assert.is(
    configError(() => requireKeys(sftConfig(), ['model_name_or_path', 'train_file'], 'webrlhf sft')),
    'webrlhf sft: "model_name_or_path", "train_file" are required; set "model_name_or_path" in the config file or --model_name_or_path on the command line, "train_file" in the config file or --train_file on the command line',
  );
  requireKeys(sftConfig({ model_name_or_path: 'm', train_file: 't' }), ['model_name_or_path', 'train_file'], 'webrlhf sft');
});

test('describeConfig lists every key with its type, default and doc, and the presets', () => {
  for (const schema of schemas) {
    const text = describeConfig(schema);
    const markdown = describeConfig(schema, { markdown: true });
    for (const [k, spec] of Object.entries(schema.keys as Record<string, KeySpec>)) {
      assert.ok(text.includes(`\n  ${k}`), `${schema.name} text lists ${k}`);
      assert.ok(text.includes(spec.doc), `${schema.name} text has the doc of ${k}`);
      assert.ok(markdown.includes(`| \`${k}\` |`), `${schema.name} markdown lists ${k}`);
    }
  }
  const sft = describeConfig(SFT_CONFIG);
  assert.match(sft, /\n {2}learning_rate: a number ≥ 0; default 2e-5\n {6}AdamW's learning rate \(TRL SFTConfig's default\)\./);
  assert.match(sft, /\n {2}resume_from_checkpoint \(also --resume\): true, false or a string; default false\n/);
  const ppo = describeConfig(PPO_CONFIG);
  assert.match(ppo, /\n {2}alpacafarm: kl_coef 0\.0067, kl_estimator "clamped", gamma 1, lam 1, whiten_rewards true, num_ppo_epochs 2, .*adam_epsilon 1e-5/);
  assert.match(describeConfig(PPO_CONFIG, { markdown: true }), /\n- trl: kl_coef 0\.05, kl_estimator "k1"/);
});

test('suggestions: edit distance with swaps; near names, else names containing the words', () => {
  assert.is(editDistance('kitten', 'sitting'), 3);
  assert.is(editDistance('lr_sceduler', 'lr_scheduler'), 1);
  assert.is(editDistance('learnign_rate', 'learning_rate'), 1, 'a swap is one edit');
  assert.is(editDistance('', 'abc'), 3);
  assert.is(closest('epochs', ['num_train_epochs', 'seed']), 'num_train_epochs');
  assert.is(closest('lr', ['learning_rate', 'seed']), undefined);
  assert.is(closest('zzzzzz', ['learning_rate', 'seed']), undefined);
});

test.run();
