// Exact resume for the trainers of one or two models on preference pairs or judged samples,
// in every runtime and on both backends: cancelled after step 3 and resumed from checkpoint 2,
// each leaves the run folder an uninterrupted run leaves (test/harness/resume.ts). SFT's is in
// rlhf.test.ts; the models are tiny and random (what is compared is bytes, not learning).
import { suite } from 'uvu';
import {
  CausalLM, DPOTrainer, RLMECTrainer, RewardTrainer, UMLRewardTrainer, dpoConfig, rewardConfig, rlmecConfig, umlRewardConfig,
  type RLMECRow,
} from 'webrlhf';
import { assertResumesExactly } from './harness/resume.js';
import { legBackendInstance as backend } from './harness/runtime.js';
import { EOS, PROMPT, TOY_CONFIG, toyPairs, toyTokenizer } from './harness/toy_task.js';

const test = suite('resume');

/** 4 steps of 4 pairs (an epoch), a checkpoint every 2, every step logged. */
const settings = { seed: 3, max_steps: 4, save_steps: 2, logging_steps: 1, per_device_train_batch_size: 4, learning_rate: 3e-3, max_length: 16, warmup_ratio: 0.2 };
const check = { stopAfter: 3, resumedFrom: 2 };
const pairs = toyPairs(16, 31);

const model = async () => CausalLM.create(await backend(), TOY_CONFIG, { seed: 7 });
async function rewardModel(): Promise<CausalLM> {
  const base = await model();
  try {
    return await base.withHeads({ score: true });
  } finally {
    base.dispose();
  }
}

test('the reward trainer resumes exactly (model and AdamW moments)', () =>
  assertResumesExactly(async () => {
    const rm = await rewardModel();
    const trainer = new RewardTrainer({ model: rm, tokenizer: toyTokenizer, config: rewardConfig(settings), train: pairs });
    return { trainer, dispose: () => (trainer.optimizer.dispose(), rm.dispose()) };
  }, check));

test('the RLP-UML reward trainer resumes exactly (the bottleneck heads and their AdamW too)', () =>
  assertResumesExactly(async () => {
    const rm = await rewardModel();
    const views = pairs.map((p) => ({ prompt: p.prompt, first: p.chosen, second: p.rejected }));
    const config = umlRewardConfig({ ...settings, mib_lambda: 0.5, mib_latent: 4, mib_hidden: 8 });
    const trainer = new UMLRewardTrainer({ model: rm, tokenizer: toyTokenizer, config, train: pairs, views });
    return { trainer, dispose: () => (trainer.dispose(), trainer.optimizer.dispose(), rm.dispose()) };
  }, check));

test('the DPO trainer resumes exactly', () =>
  assertResumesExactly(async () => {
    const policy = await model();
    const reference = policy.clone().freeze();
    const trainer = new DPOTrainer({ policy, reference, tokenizer: toyTokenizer, config: dpoConfig({ ...settings, max_prompt_length: 4 }), train: pairs });
    return { trainer, dispose: () => (trainer.optimizer.dispose(), policy.dispose(), reference.dispose()) };
  }, check));

test('the RLMEC trainer resumes exactly', () =>
  assertResumesExactly(async () => {
    const policy = await model();
    const reference = policy.clone().freeze();
    const prompt = toyTokenizer.encode(PROMPT);
    // Per pair: the rejected text penalised on its last letters and imitated towards the chosen one.
    const train: RLMECRow[][] = pairs.map(({ chosen, rejected }) => {
      const wrong = [...toyTokenizer.encode(rejected), EOS];
      const rewrite = [...toyTokenizer.encode(chosen), EOS];
      return [
        { prompt, response: wrong, rewards: wrong.map((_, t) => (t >= 4 ? -0.1 : 0)), imitation: wrong.map(() => 0) },
        { prompt, response: rewrite, rewards: rewrite.map(() => 0), imitation: rewrite.map((_, t) => (t >= 4 ? 1 : 0.5)) },
      ];
    });
    const trainer = new RLMECTrainer({ policy, reference, tokenizer: toyTokenizer, config: rlmecConfig(settings), train });
    return { trainer, dispose: () => (trainer.optimizer.dispose(), policy.dispose(), reference.dispose()) };
  }, check));

test.run();
