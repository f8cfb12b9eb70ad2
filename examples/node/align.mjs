// node examples/node/align.mjs [auto|webgpu|wasm] — the library API end to end, on the
// built-in arithmetic task (nothing downloaded):
//   1. create a small GPT-2 and a byte tokenizer;
//   2. teach it the task by SFT, with a progress callback; stop the run with an AbortSignal
//      and resume it from its last checkpoint (nothing trained before the stop is lost);
//   3. align it with DPO on its own samples (a right solution chosen over a wrong one);
//   4. generate, score a solution token by token, and save a Hugging Face model folder.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DPOTrainer, CausalLM, SFTTrainer, arithmeticSplits, byteTokenizer, createRuntime, dpoConfig, formatSolution, fromArithmetic, generate,
  gptConfig, loadModel, openRun, problemPrompt, saveModel, saveTokenizer, scoreSequences, sftConfig, solveProblems, testAccuracy,
} from 'webrlhf';

const rt = await createRuntime({ backend: process.argv[2] ?? 'auto' });
const dir = await mkdtemp(join(tmpdir(), 'webrlhf-align-'));
console.log(`${rt.runtime} · ${rt.choice.chosen} backend (${rt.choice.reason}); runs in ${dir}`);

// 1. A model and its tokenizer (byte-level: ids 0..255 are UTF-8 bytes).
const tokenizer = byteTokenizer();
const model = CausalLM.create(rt.backend, gptConfig({ vocab_size: tokenizer.vocabSize, n_positions: 128, n_embd: 64, n_layer: 2, n_head: 4 }), { seed: 1 });
const splits = arithmeticSplits({ seed: 1, difficulty: 1, sft: 800, rl: 96, test: 64 });
const demos = splits.sft; // { prompt, completion }, the shape of an SFT JSONL line
const test = splits.test.map(fromArithmetic);

// 2. SFT (TRL's SFTConfig keys), stopped by an AbortSignal after step 250 and resumed.
const sft = sftConfig({ max_steps: 400, learning_rate: 5e-3, per_device_train_batch_size: 16, save_steps: 200, logging_steps: 50, lr_scheduler_type: 'cosine' });
const sftDir = join(dir, 'sft');
const losses = [];
const controller = new AbortController();
const onStep = ({ step, totalSteps, metrics }) => {
  losses[step] = metrics.loss;
  if (step % 100 === 0) console.log(`  sft step ${step}/${totalSteps}: loss ${metrics.loss.toFixed(3)}`);
  if (step === 250) controller.abort(); // a user pressing Stop
};
try {
  await new SFTTrainer({ model, tokenizer, config: sft, train: demos }).train({ run: await openRun(sftDir, { config: sft }), onStep, signal: controller.signal });
} catch (e) {
  if (e.name !== 'AbortError') throw e;
  console.log('stopped at step 250 (AbortSignal); checkpoint-00000200 is on disk');
}
// Resuming restores the weights, optimizer and data order of the newest checkpoint.
const resumed = CausalLM.create(rt.backend, model.config, { seed: 1 });
const result = await new SFTTrainer({ model: resumed, tokenizer, config: sft, train: demos }).train({ run: await openRun(sftDir, { config: sft, resume: true }), onStep });
console.log(`SFT: resumed from step ${result.resumedFrom}, ended at step ${result.step}: loss ${losses[1].toFixed(3)} → ${result.metrics.loss.toFixed(3)}`);
model.dispose();

// 3. DPO on the policy's own samples: per problem, a right solution chosen over a wrong one.
const gen = { max_new_tokens: 40, batch_size: 64 };
const before = await testAccuracy(resumed, tokenizer, test, gen);
const samples = await solveProblems(resumed, tokenizer, splits.rl.map(fromArithmetic), { ...gen, num_samples: 4, temperature: 1, seed: 2 });
const pairs = [];
for (const p of splits.rl) {
  const own = samples.filter((s) => s.problem.question === p.question);
  const wrong = own.find((s) => !s.correct);
  if (wrong) pairs.push({ prompt: problemPrompt(p), chosen: own.find((s) => s.correct)?.text ?? formatSolution(p), rejected: wrong.text });
}
const dpo = dpoConfig({ max_steps: 40, learning_rate: 2e-5, beta: 0.1, per_device_train_batch_size: 8, logging_steps: 10 });
const reference = resumed.clone().freeze();
const dpoResult = await new DPOTrainer({ policy: resumed, reference, tokenizer, config: dpo, train: pairs }).train({ run: await openRun(join(dir, 'dpo'), { config: dpo }) });
reference.dispose();
const after = await testAccuracy(resumed, tokenizer, test, gen);
console.log(`DPO: ${pairs.length} pairs, ${dpoResult.step} steps, rewards/accuracies ${dpoResult.metrics['rewards/accuracies'].toFixed(2)}; test accuracy ${pct(before.accuracy)} → ${pct(after.accuracy)}`);

// 4. Generate, score, save.
const { question } = splits.test[0];
const [answer] = await generate(resumed, [problemPrompt({ question })], { tokenizer, do_sample: false, max_new_tokens: 40, stop_strings: ['\n\n'] });
console.log(`generated for ${JSON.stringify(question)}: ${JSON.stringify(answer.text)} (${answer.finishReason})`);
const [score] = await scoreSequences(resumed, [{ prompt: answer.promptIds, response: answer.ids }]);
const total = score.logprobs.reduce((a, b) => a + b, 0);
console.log(`scored: ${score.logprobs.length} tokens, log-probability ${total.toFixed(3)}`);
const out = join(dir, 'model');
await saveModel(resumed, out); // config.json + model.safetensors: transformers' GPT2LMHeadModel loads it
await saveTokenizer(tokenizer, out);
const reloaded = await loadModel(rt.backend, out);
console.log(`saved and reloaded ${out}: ${reloaded.arch.layers} layers, ${reloaded.arch.hiddenSize} wide`);
reloaded.dispose();
resumed.dispose();
await rm(dir, { recursive: true });
rt.dispose();

function pct(x) {
  return `${(100 * x).toFixed(1)}%`;
}
