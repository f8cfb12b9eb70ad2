// Config files on Node's filesystem: read, checked and layered under command-line flags.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, PPO_CONFIG, SFT_CONFIG, configFlags, configFromFile, configReference, mergeConfig } from 'webrlhf';
import { rejectsWith } from './harness/rejects.js';

const test = suite('config files (node fs)');

let root = '';

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'webrlhf-config-'));
});

test.after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const configError = (re: RegExp) => (e: unknown) => e instanceof ConfigError && re.test(e.message);

test('a config file is a checked layer: file values win over the preset, flags over the file', async () => {
  const path = join(root, 'ppo.json');
  await writeFile(path, JSON.stringify({ preset: 'alpacafarm', learning_rate: 1e-5, num_ppo_epochs: 3, sft_model_path: 'runs/sft/final' }));
  const file = await configFromFile(PPO_CONFIG, path);
  assert.equal(file, { preset: 'alpacafarm', learning_rate: 1e-5, num_ppo_epochs: 3, sft_model_path: 'runs/sft/final' });
  const { values } = configFlags(PPO_CONFIG, ['--num-ppo-epochs', '1']);
  const c = mergeConfig(PPO_CONFIG, [file, values]);
  assert.equal([c.learning_rate, c.num_ppo_epochs, c.kl_estimator, c.lam, c.sft_model_path], [1e-5, 1, 'clamped', 1, 'runs/sft/final']);
});

test('errors name the file: JSON syntax, unknown keys, wrong types, a missing file', async () => {
  const bad = join(root, 'config.json');
  await writeFile(bad, '{"learning_rate": 1e-4,}');
  await rejectsWith(configFromFile(SFT_CONFIG, bad), configError(new RegExp(`^${escape(bad)}: not valid JSON \\(.+\\); fix the file$`)), 'syntax');
  await writeFile(bad, '{"learning_rte": 1e-4}');
  await rejectsWith(configFromFile(SFT_CONFIG, bad), configError(new RegExp(`^${escape(bad)}: unknown key "learning_rte"; did you mean "learning_rate"\\?$`)), 'unknown key');
  await writeFile(bad, '{"per_device_train_batch_size": "8"}');
  await rejectsWith(configFromFile(SFT_CONFIG, bad), configError(/config\.json: "per_device_train_batch_size" must be an integer ≥ 1, got "8"$/), 'type');
  const missing = join(root, 'missing.json');
  await rejectsWith(configFromFile(SFT_CONFIG, missing), configError(/missing\.json: no such config file; check the path/), 'missing');
});

test('docs/CONFIG.md holds the key tables the schemas generate (npm run docs:config rewrites them)', async () => {
  const docs = await readFile('docs/CONFIG.md', 'utf8');
  const begin = '<!-- generated: configReference() -->\n';
  const generated = docs.slice(docs.indexOf(begin) + begin.length, docs.indexOf('\n<!-- end generated -->'));
  assert.ok(docs.includes(begin) && generated.length > 1000, 'the markers are there');
  assert.fixture(generated, configReference());
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test.run();
