// Measures the built-in RLP task's surface flaws in a finished `webrlhf rlp` run (docs/RLP.md,
// "The task's surface flaws"): the share of lead-ins and trailing junk in the demonstrations,
// in each policy's greedy answers and temperature-1 samples on the evaluation prompts, and in
// the PPO policy's samples on the unlabeled prompts; and whether r_φ scores a clean right
// answer above the same answer with each flaw.
//
//   npm run build && node scripts/rlp_flaws.mjs runs/rlp [--samples 2]
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  createRuntime, loadModel, generate, rewardScores, byteTokenizer, rlpRunConfig, builtinTaskOptions, instructionSplits, generateInstructions, surfaceFlaws,
  goldScore, instructionEquivalence, LEAD_IN_PHRASES, TRAILING_JUNK,
} from '../dist/node/index.js';

const [dir, ...rest] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/rlp_flaws.mjs RUN_DIR [--samples N]');
  process.exit(2);
}
const samplesPerPrompt = rest[0] === '--samples' ? Number(rest[1]) : 2;
const jsonl = (path) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
const config = rlpRunConfig(Object.fromEntries(Object.entries(saved.config ?? saved).filter(([k]) => k in rlpRunConfig())));
const rt = await createRuntime({ backend: 'wasm' });
const tokenizer = byteTokenizer();
const pct = (x) => `${(100 * x).toFixed(1)}%`;

/** Shares of responses with a lead-in, with junk, with either; mean gold score; share right. */
function shares(pairs) {
  const f = pairs.map(([e, t]) => surfaceFlaws(e, t));
  const share = (p) => f.filter(p).length / Math.max(f.length, 1);
  return {
    n: pairs.length,
    lead_in: share((x) => x.leadIn),
    junk: share((x) => x.junk > 0),
    any: share((x) => x.leadIn || x.junk > 0),
    gold: pairs.reduce((s, [e, t]) => s + goldScore(e, t), 0) / Math.max(pairs.length, 1),
    right: pairs.filter(([e, t]) => instructionEquivalence(e, t, e.answer)).length / Math.max(pairs.length, 1),
  };
}
const row = (name, s) => console.log(`| ${name} | ${s.n} | ${pct(s.lead_in)} | ${pct(s.junk)} | ${pct(s.any)} | ${s.right.toFixed(2)} | ${s.gold.toFixed(3)} |`);

for (let seed = config.seed; seed < config.seed + config.seeds; seed++) {
  const seedDir = join(dir, `seed-${seed}`);
  if (!existsSync(seedDir)) continue;
  const splits = instructionSplits(builtinTaskOptions(config, seed));
  // Every split's prompts are among the seed's first draws (instructionSplits skips repeats).
  const draws = splits.sft.length + splits.preference.length + splits.unlabeled.length + splits.eval.length;
  const byPrompt = new Map(generateInstructions({ seed, count: 2 * draws + 1000 }).map((e) => [e.prompt, e]));
  const evalExamples = splits.eval.map((x) => x.example);
  console.log(`\n## seed ${seed}\n`);
  console.log('| texts | n | lead-in | junk | either | right | mean gold |\n| --- | --- | --- | --- | --- | --- | --- |');
  row('demonstrations', shares(splits.sft.map((d) => [byPrompt.get(d.prompt), d.completion])));
  row('references', shares(splits.eval.map((x) => [x.example, x.reference])));
  const outputs = jsonl(join(seedDir, 'outputs.jsonl'));
  for (const key of Object.keys(outputs[0].outputs)) row(`${key}, greedy (eval)`, shares(outputs.map((o) => [byPrompt.get(o.prompt), o.outputs[key]])));
  for (const stage of ['sft', 'ppo', 'ppo_uml', 'ppo_spg']) {
    const where = join(seedDir, stage, 'final');
    if (!existsSync(where)) continue;
    const model = await loadModel(rt.backend, where);
    const out = await generate(model, evalExamples.map((e) => e.prompt), {
      tokenizer, do_sample: true, temperature: config.rlp_temperature, top_p: 1, num_return_sequences: samplesPerPrompt,
      max_new_tokens: config.max_new_tokens, seed: seed + 7, batch_size: config.generation_batch_size,
    });
    model.dispose();
    row(`${stage}, T=${config.rlp_temperature} samples (eval)`, shares(out.map((g) => [evalExamples[g.prompt], g.text])));
  }
  const policySamples = jsonl(join(seedDir, 'policy_samples.jsonl'));
  row('ppo, policy_samples (unlabeled)', shares(policySamples.flatMap((s) => s.outputs.map((t) => [byPrompt.get(s.prompt), t]))));
  const D = jsonl(join(seedDir, 'preferences.jsonl'));
  row('D, chosen', shares(D.map((r) => [byPrompt.get(r.prompt), r.chosen])));
  row('D, rejected', shares(D.map((r) => [byPrompt.get(r.prompt), r.rejected])));

  // r_φ on right answers: clean, with a lead-in, with junk, with both (phrases taken in turn).
  const reward = await loadModel(rt.backend, join(seedDir, 'reward', 'final'));
  const variants = {
    clean: (e) => e.answer,
    lead_in: (e, i) => LEAD_IN_PHRASES[i % LEAD_IN_PHRASES.length] + e.answer,
    junk: (e, i) => e.answer + TRAILING_JUNK[i % TRAILING_JUNK.length],
    lead_in_junk: (e, i) => LEAD_IN_PHRASES[i % LEAD_IN_PHRASES.length] + e.answer + TRAILING_JUNK[i % TRAILING_JUNK.length],
  };
  const scores = {};
  for (const [name, make] of Object.entries(variants)) {
    scores[name] = await rewardScores(reward, evalExamples.map((e, i) => ({ prompt: tokenizer.encode(e.prompt), response: [...tokenizer.encode(make(e, i)), tokenizer.eosTokenId] })), {
      batch_size: config.generation_batch_size, pad_token_id: tokenizer.eosTokenId,
    });
  }
  reward.dispose();
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log('\n| right answer | mean r_φ | r_φ(clean) > r_φ(this) |\n| --- | --- | --- |');
  for (const name of Object.keys(variants)) {
    const above = scores.clean.filter((s, i) => s > scores[name][i]).length / scores.clean.length;
    console.log(`| ${name} | ${mean(scores[name]).toFixed(3)} | ${name === 'clean' ? '' : pct(above)} |`);
  }
  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
  const seedResult = (results.seeds ?? results.results ?? []).find?.((r) => r.seed === seed);
  if (seedResult) console.log(`\npreference accuracy: ${JSON.stringify(seedResult.preferenceAccuracy)}; win-rates: ${Object.entries(seedResult.winRate).map(([k, v]) => `${k} ${v.win_rate.toFixed(1)}`).join(', ')}`);
}
rt.dispose?.();
