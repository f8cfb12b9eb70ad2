// Every trainer on the Llama family, unchanged: the toy task (test/harness/toy_task.ts) with a
// Llama model (grouped-query attention, rotary positions, SwiGLU, untied head) instead of GPT-2.
// SFT teaches the format, then PPO, the reward model and DPO each move as on GPT-2, and a
// trainer's run folder holds a Llama folder that loads back.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AdamW, SFTTrainer, dpoTrainStep, encodePreference, evaluateDPO, evaluateRewardModel, loadModel, memoryRunStorage, openRun,
  generate, memoryFolder, rewardTrainStep, sftConfig, type CausalLM,
} from 'webrlhf';
import { rng } from './harness/reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';
import { PAD, PROMPT, toyPPO, TOY_LLAMA_CONFIG, randomLetters, toyPairs, toySFTModel, toyTokenizer } from './harness/toy_task.js';

const test = suite('llama trainers');

let sft: Promise<CausalLM> | undefined;
const sftModel = async () => (sft ??= backend().then((be) => toySFTModel(be, TOY_LLAMA_CONFIG)));
const preferences = (n: number, seed: number) => toyPairs(n, seed).map((p) => encodePreference(toyTokenizer, p, { maxLength: 16 }));

test('SFT on a Llama model learns the toy format: greedy responses are letters, then EOS', async () => {
  const model = await sftModel();
  assert.is(model.arch.modelType, 'llama');
  const out = await generate(model, [PROMPT, PROMPT], { tokenizer: toyTokenizer, do_sample: false, max_new_tokens: 10 });
  for (const s of out) {
    assert.match(s.text, /^[abcd]{3,9}$/, `response ${JSON.stringify(s.text)}`);
    assert.is(s.finishReason, 'eos');
  }
});

test('PPO, the reward model and DPO move on a Llama model as on GPT-2', async () => {
  const base = await sftModel();
  // PPO: the mean count of "a" rises.
  const { learner, models, prompts } = await toyPPO(base);
  const scores: number[] = [];
  for (let step = 0; step < 8; step++) scores.push((await learner.step(prompts, step, 1e-3)).metrics['objective/scores']!);
  const [first, last] = [(scores[0]! + scores[1]!) / 2, (scores[6]! + scores[7]!) / 2];
  assert.ok(last > first + 0.5, `PPO: mean score ${first.toFixed(2)} → ${last.toFixed(2)} (${scores.map((s) => s.toFixed(2)).join(' ')})`);
  for (const m of models) m.dispose();

  // Reward model: ranks held-out pairs.
  const rm = await base.withHeads({ score: true });
  const rmOpt = new AdamW(rm, { lr: 2e-3, weight_decay: 0 });
  const train = preferences(16 * 30, 5);
  for (let i = 0; i < train.length; i += 16) await rewardTrainStep(rm, rmOpt, train.slice(i, i + 16), 2e-3, { pad: PAD });
  const ranked = await evaluateRewardModel(rm, preferences(128, 6), 64, { pad: PAD });
  assert.ok(ranked.accuracy! >= 0.8, `reward model held-out accuracy ${ranked.accuracy}`);
  rm.dispose();

  // DPO: the chosen-minus-rejected margin grows from 0.
  const dpoPolicy = base.clone();
  const dpoRef = base.clone().freeze();
  const opt = new AdamW(dpoPolicy, { lr: 2e-3, weight_decay: 0 });
  const dpoTrain = preferences(16 * 15, 7);
  for (let i = 0; i < dpoTrain.length; i += 16) await dpoTrainStep(dpoPolicy, dpoRef, opt, dpoTrain.slice(i, i + 16), 2e-3, { beta: 0.1, pad: PAD });
  const after = await evaluateDPO(dpoPolicy, dpoRef, preferences(128, 8), 64, { beta: 0.1, pad: PAD });
  assert.ok(after['rewards/margins']! > 0.3, `DPO margin ${after['rewards/margins']}`);
  dpoPolicy.dispose();
  dpoRef.dispose();
});

test('SFTTrainer writes a Llama folder into its run that loads back as the same model', async () => {
  const be = await backend();
  const r = rng(21);
  const train = Array.from({ length: 32 }, () => ({ prompt: PROMPT, completion: randomLetters(r, 6) }));
  const model = (await sftModel()).clone();
  const config = sftConfig({ max_steps: 3, save_steps: 10, per_device_train_batch_size: 8, learning_rate: 1e-3, max_length: 16 });
  const storage = memoryRunStorage();
  await new SFTTrainer({ model, tokenizer: toyTokenizer, config, train }).train({ run: await openRun(storage, { config, resume: false }) });
  const saved = JSON.parse(new TextDecoder().decode(storage.files.get('final/config.json'))) as Record<string, unknown>;
  assert.equal([saved.architectures, saved.model_type, saved.num_key_value_heads], [['LlamaForCausalLM'], 'llama', 2]);
  const folder = new Map([...storage.files].filter(([p]) => p.startsWith('final/')).map(([p, bytes]) => [p.slice('final/'.length), bytes]));
  const reloaded = await loadModel(be, memoryFolder(folder));
  assert.equal(await be.read(reloaded.params), await be.read(model.params));
  model.dispose();
  reloaded.dispose();
});

test.run();
