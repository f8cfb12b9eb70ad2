// The training side of the page: a module Web Worker, so the page stays responsive while it
// trains. It runs one of two things through the library, into a run folder held in memory,
// and posts every step's metrics, the log lines and, at the end, the run's files back to the
// page:
//   rlmec: the RLMEC pipeline (SFT → GRM → RLMEC, docs/RLMEC.md): models, metrics, samples,
//          token rewards, report.html;
//   grpo:  a short SFT, then GRPO (docs/GRPO.md) with a reward function typed into the page.
//
// Messages in:  { type: 'start', backend: 'auto'|'webgpu'|'wasm', method: 'rlmec', config: {...rlmec keys} }
//                 (config.use_peft: LoRA adapters on the frozen SFT policy, with the demo's LoRA keys)
//               { type: 'start', backend, method: 'grpo', config: { model, task, sft, grpo }, reward: 'JavaScript source' }
//               { type: 'stop' }
// Messages out: { type: 'runtime', runtime, backend, reason }   once the device is ready
//               { type: 'log', line }                           one per stage and result
//               { type: 'step', seed, stage, step, totalSteps, metrics }
//               { type: 'done', result, files, seconds }        files: { path: Uint8Array }
//               { type: 'stopped', files }                      after Stop: what finished stays
//               { type: 'error', name, message }                a broken reward function: RewardFunctionError
import {
  CausalLM, DEMO_PEFT, GRPOTrainer, RewardFunctionError, SFTTrainer, arithmeticSplits, builtinArithmeticSource, byteTokenizer, callRewardFuncs, createRuntime,
  demoReport, formatDuration, formatSolution, fromArithmetic, gptConfig, grpoConfig, memoryRunStorage, openRun, problemPrompt, rlmecRunConfig, runRLMECExperiment,
  sftConfig, subRunStorage, testAccuracy, trainingNote,
} from '../../dist/web/index.js';

let controller;

self.onmessage = async ({ data }) => {
  if (data.type === 'stop') controller?.abort();
  if (data.type === 'start' && !controller) {
    controller = new AbortController();
    try {
      await run(data, controller.signal);
    } finally {
      controller = undefined;
    }
  }
};

async function run({ backend, method, config, reward }, signal) {
  const storage = memoryRunStorage();
  let rt;
  try {
    rt = await createRuntime({ backend });
    self.postMessage({ type: 'runtime', runtime: rt.runtime, backend: rt.choice.chosen, reason: rt.choice.reason });
    const log = (line) => self.postMessage({ type: 'log', line });
    const onStep = ({ seed, stage, step, totalSteps, metrics }) => self.postMessage({ type: 'step', seed, stage, step, totalSteps, metrics });
    const result = await (method === 'grpo' ? grpo(rt, config, reward, { storage, signal, log, onStep }) : rlmec(rt, config, { storage, signal, log, onStep }));
    post({ type: 'done', result, files: storage.files, seconds: result.seconds });
  } catch (e) {
    if (signal.aborted) post({ type: 'stopped', files: storage.files });
    else self.postMessage({ type: 'error', name: e?.name ?? 'Error', message: e?.message ?? String(e) });
  } finally {
    rt?.dispose();
  }
}

async function rlmec(rt, config, { storage, signal, log, onStep }) {
  // A ConfigError here names the bad key and the fix; the page shows it as it is.
  const c = rlmecRunConfig({ baselines: false, seeds: 1, ...(config.use_peft ? DEMO_PEFT : {}), ...config });
  const result = await runRLMECExperiment(rt.backend, c, builtinArithmeticSource(rt.backend, c), { output: storage, signal, log, onStep });
  const html = await demoReport({
    title: 'webrlhf in the browser: RLMEC',
    notes: [`RLMEC on ${result.data}, ${rt.runtime}, ${result.backend} backend, ${formatDuration(result.seconds, 'minutes')}.`],
    seed: c.seed,
    rlmec: { result, storage, training: trainingNote(c) },
  });
  await storage.write('report.html', new TextEncoder().encode(html));
  return result;
}

/**
 * GRPO with the page's reward function on the built-in arithmetic task: SFT teaches the
 * solution format, GRPO trains on the RL split's prompts (with their `answer` column for the
 * function), and test accuracy is taken before and after. Files: sft/, grpo/ (metrics,
 * rollouts, the final model), outputs.jsonl, results.json.
 */
async function grpo(rt, { model, task, sft, grpo }, source, { storage, signal, log, onStep }) {
  const t0 = performance.now();
  const reward = rewardFunction(source);
  const tokenizer = byteTokenizer();
  const splits = arithmeticSplits({ seed: 1, difficulty: 1, ...task });
  const train = splits.rl.map((p) => ({ prompt: problemPrompt(p), answer: p.answer }));
  // Tried on reference solutions first, through the trainer's own checks: a broken function
  // fails in a second with its RewardFunctionError, not after the SFT warm-up.
  const tried = splits.rl.slice(0, 4);
  await callRewardFuncs([reward], {
    prompts: tried.map(problemPrompt), completions: tried.map(formatSolution), completionIds: tried.map((p) => [...tokenizer.encode(formatSolution(p)), tokenizer.eosTokenId]),
    records: train.slice(0, 4), state: { global_step: 0, max_steps: grpo.max_steps },
  });
  const policy = CausalLM.create(rt.backend, gptConfig({ vocab_size: tokenizer.vocabSize, ...model }), { seed: 1 });
  const stage = async (name, trainer) => {
    log(`${name}: ${trainer.totalSteps} steps`);
    const run = await openRun(subRunStorage(storage, name), { config: trainer.config });
    await trainer.train({ run, signal, onStep: (e) => onStep({ ...e, stage: name }) });
  };
  const test = splits.test.map(fromArithmetic);
  const gen = { max_new_tokens: grpo.max_completion_length, batch_size: 64 };
  try {
    await stage('sft', new SFTTrainer({ model: policy, tokenizer, config: sftConfig(sft), train: splits.sft }));
    const before = await testAccuracy(policy, tokenizer, test, gen);
    log(`SFT: test accuracy ${pct(before.accuracy)}`);
    await stage('grpo', new GRPOTrainer({ policy, tokenizer, config: grpoConfig(grpo), train, reward_funcs: reward }));
    const after = await testAccuracy(policy, tokenizer, test, gen);
    log(`GRPO: test accuracy ${pct(after.accuracy)}`);
    const outputs = test.map((p, i) => ({
      question: p.question, answer: p.answer,
      outputs: { sft: before.solutions[i].text, grpo: after.solutions[i].text }, correct: { sft: before.solutions[i].correct, grpo: after.solutions[i].correct },
    }));
    const result = { backend: rt.choice.chosen, accuracy: { sft: before.accuracy, grpo: after.accuracy }, outputs: 'outputs.jsonl', seconds: (performance.now() - t0) / 1000 };
    const encode = (text) => new TextEncoder().encode(text);
    await storage.write('outputs.jsonl', encode(outputs.map((o) => `${JSON.stringify(o)}\n`).join('')));
    await storage.write('results.json', encode(`${JSON.stringify(result, null, 2)}\n`));
    return result;
  } finally {
    policy.dispose();
  }
}

/**
 * The page's reward function from its source: an arrow function or a function expression.
 * `new Function` runs text as code; that is acceptable here because the text is the user's
 * own, typed into their own page and run in its worker with no more rights than the page
 * (as `webrlhf grpo` imports a user's reward module as the program's own code).
 */
function rewardFunction(source) {
  let f;
  try {
    // A trailing semicolon would end the expression inside the parentheses.
    f = new Function(`"use strict"; return (${source.trim().replace(/;+$/, '')}\n);`)();
  } catch (e) {
    throw new RewardFunctionError(`the reward function does not compile: ${e.message}`, { func: 'the page\'s reward function' }, { cause: e });
  }
  if (typeof f !== 'function') {
    throw new RewardFunctionError(`the reward function's text gives ${f === null ? 'null' : typeof f}, not a function: write an arrow function or a function expression`, { func: 'the page\'s reward function' });
  }
  return f;
}

function pct(x) {
  return `${(100 * x).toFixed(1)}%`;
}

/** Posts a message with the run folder's files, moving (not copying) their bytes. */
function post(message) {
  const files = Object.fromEntries(message.files);
  self.postMessage({ ...message, files }, Object.values(files).map((bytes) => bytes.buffer));
}
