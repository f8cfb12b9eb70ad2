// Generation and scoring on a small random model: the KV cache against the full forward
// pass, batch and padding invariance, stopping rules, seeded sampling, scoring against the
// float64 reference, and the errors a user meets first.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  architectureOf, BatchError, ConfigError, byteTokenizer, generate, gptConfig, prepareBatch, rewardScores, scoreSequences, type Backend, type CausalLM, type GeneratedSequence,
} from 'webrlhf';
import { gptReference } from './harness/gpt_reference.js';
import { tinyModel, toF64 } from './harness/models.js';
import { errorOf, rejectsWith } from './harness/rejects.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('generate');

const tokenizer = byteTokenizer();
const CONFIG = gptConfig({ vocab_size: tokenizer.vocabSize, n_positions: 48, n_embd: 16, n_layer: 2, n_head: 2 });
const PROMPTS = ['Hi', 'The quick brown fox', 'a', 'RLHF on the web!'];
const LOGPROB_TOL = 1e-5;

let shared: { be: Backend; model: CausalLM; weights: Map<string, Float32Array> } | undefined;
async function setup(): Promise<{ be: Backend; model: CausalLM; weights: Map<string, Float32Array> }> {
  const be = await backend();
  shared ??= { be, ...tinyModel(be, 11, CONFIG) };
  return shared;
}

function assertLogprobsClose(a: GeneratedSequence[], b: GeneratedSequence[], what: string): void {
  a.forEach((s, i) => s.logprobs.forEach((l, k) => {
    const d = Math.abs(l - b[i]!.logprobs[k]!);
    assert.ok(d <= LOGPROB_TOL, `${what}: sequence ${i} token ${k}: logprobs ${l} and ${b[i]!.logprobs[k]} differ by ${d}`);
  }));
}

test('greedy with the KV cache = the argmax of a full forward pass at every step (host argmax)', async () => {
  const { be, model } = await setup();
  const steps = 12;
  const cached = await generate(model, PROMPTS, { tokenizer, do_sample: false, max_new_tokens: steps, eos_token_id: null });
  for (const [i, prompt] of PROMPTS.entries()) {
    const ids = tokenizer.encode(prompt);
    for (let s = 0; s < steps; s++) {
      model.forward({ inputIds: [ids] }, { logits: true });
      const logits = await be.read(model.logits);
      const V = CONFIG.vocab_size;
      const row = logits.subarray((ids.length - 1) * V, ids.length * V);
      let best = 0;
      for (let v = 1; v < V; v++) if (row[v]! > row[best]!) best = v;
      const logZ = Math.log(row.reduce((a, x) => a + Math.exp(x - row[best]!), 0)) + row[best]!;
      assert.is(cached[i]!.ids[s], best, `prompt ${i} step ${s}`);
      assert.ok(Math.abs(cached[i]!.logprobs[s]! - (row[best]! - logZ)) <= LOGPROB_TOL, `prompt ${i} step ${s} logprob`);
      ids.push(best);
    }
  }
});

test('cached and uncached generation agree: same tokens, log-probs and entropies within 1e-5 (sampled)', async () => {
  const { model } = await setup();
  const options = { tokenizer, max_new_tokens: 10, temperature: 0.8, seed: 3, num_return_sequences: 2, eos_token_id: null } as const;
  const cached = await generate(model, PROMPTS, options);
  const uncached = await generate(model, PROMPTS, { ...options, use_cache: false });
  assert.equal(cached.map((s) => s.ids), uncached.map((s) => s.ids));
  assertLogprobsClose(cached, uncached, 'cached vs uncached');
  cached.forEach((s, i) => s.entropies.forEach((e, k) => assert.ok(Math.abs(e - uncached[i]!.entropies[k]!) <= LOGPROB_TOL, `entropy ${i}/${k}`)));
});

test('batch size and padding do not change a sequence (greedy and sampled)', async () => {
  const { model } = await setup();
  for (const sampling of [{ do_sample: false }, { temperature: 1.2, top_k: 20, top_p: 0.9, seed: 9 }]) {
    const options = { tokenizer, max_new_tokens: 8, num_return_sequences: 2, eos_token_id: null, ...sampling };
    const together = await generate(model, PROMPTS, options);
    const oneByOne = await generate(model, PROMPTS, { ...options, batch_size: 1 });
    const threes = await generate(model, PROMPTS, { ...options, batch_size: 3 });
    assert.equal(oneByOne.map((s) => s.ids), together.map((s) => s.ids), 'batch_size 1');
    assert.equal(threes.map((s) => s.ids), together.map((s) => s.ids), 'batch_size 3');
    assertLogprobsClose(oneByOne, together, 'batch_size 1 vs all');
  }
  // Greedy: a prompt alone (no padding) gives what it gives beside longer prompts.
  const alone = await generate(model, ['a'], { tokenizer, do_sample: false, max_new_tokens: 8, eos_token_id: null });
  const padded = await generate(model, PROMPTS, { tokenizer, do_sample: false, max_new_tokens: 8, eos_token_id: null });
  assert.equal(alone[0]!.ids, padded[2]!.ids);
  assertLogprobsClose(alone, [padded[2]!], 'alone vs padded');
});

test('the same seed gives the same samples; another seed and other samples differ', async () => {
  const { model } = await setup();
  const options = { tokenizer, max_new_tokens: 12, num_return_sequences: 3, eos_token_id: null, seed: 5 };
  const a = await generate(model, PROMPTS, options);
  const b = await generate(model, PROMPTS, { ...options, sync_every: 1 });
  const c = await generate(model, PROMPTS, { ...options, seed: 6 });
  assert.equal(a.map((s) => s.ids), b.map((s) => s.ids));
  assert.not.equal(a.map((s) => s.ids), c.map((s) => s.ids));
  assert.not.equal(a[0]!.ids, a[1]!.ids, 'two samples of one prompt differ');
  assert.equal(a.map((s) => [s.prompt, s.sample]), PROMPTS.flatMap((_, p) => [[p, 0], [p, 1], [p, 2]]));
});

/** The model's next-token distribution after `ids`, in float64, at `temperature`. */
async function nextTokenProbs(be: Backend, model: CausalLM, ids: number[], temperature: number): Promise<number[]> {
  model.forward({ inputIds: [ids] }, { logits: true });
  const V = CONFIG.vocab_size;
  const row = Array.from((await be.read(model.logits)).subarray((ids.length - 1) * V, ids.length * V), (x) => x / temperature);
  const m = Math.max(...row);
  const e = row.map((x) => Math.exp(x - m));
  const z = e.reduce((a, x) => a + x, 0);
  return e.map((x) => x / z);
}

/** χ² 0.999 quantile (Wilson–Hilferty; within 1% of the exact value for df ≥ 5). */
function chiSquare999(df: number): number {
  const z = 3.0902;
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

test('sampled first tokens across 4,000 sequences follow softmax(logits/T) (χ², fixed seed); top-k/top-p stay in their sets', async () => {
  const { be, model } = await setup();
  const prompt = tokenizer.encode('Hi');
  const n = 4000;
  const temperature = 1.5;
  const p = await nextTokenProbs(be, model, prompt, temperature);
  const draws = await generate(model, [prompt], { num_return_sequences: n, max_new_tokens: 1, temperature, seed: 17, eos_token_id: null });
  const counts = new Array<number>(p.length).fill(0);
  for (const s of draws) counts[s.ids[0]!]! += 1;
  // Bins with an expected count ≥ 5; the rest pooled into one.
  let stat = 0;
  let bins = 0;
  let pooledP = 0;
  let pooledCount = 0;
  p.forEach((q, v) => {
    if (q * n >= 5) {
      stat += (counts[v]! - q * n) ** 2 / (q * n);
      bins++;
    } else {
      pooledP += q;
      pooledCount += counts[v]!;
    }
  });
  if (pooledP * n >= 5) {
    stat += (pooledCount - pooledP * n) ** 2 / (pooledP * n);
    bins++;
  }
  assert.ok(bins >= 6, `enough bins (${bins})`);
  assert.ok(stat < chiSquare999(bins - 1), `χ² ${stat.toFixed(1)} over ${bins} bins is below the 0.999 quantile ${chiSquare999(bins - 1).toFixed(1)}`);

  const order = p.map((q, v) => [q, v] as const).sort((a, b) => b[0] - a[0]);
  const topK = new Set(order.slice(0, 5).map(([, v]) => v));
  const k = await generate(model, [prompt], { num_return_sequences: 500, max_new_tokens: 1, temperature, top_k: 5, seed: 2, eos_token_id: null });
  assert.ok(k.every((s) => topK.has(s.ids[0]!)), 'top_k 5: every token among the 5 most likely');
  let mass = 0;
  const nucleus = new Set<number>();
  for (const [q, v] of order) {
    if (mass >= 0.6) break;
    nucleus.add(v);
    mass += q;
  }
  const tp = await generate(model, [prompt], { num_return_sequences: 500, max_new_tokens: 1, temperature, top_p: 0.6, seed: 3, eos_token_id: null });
  assert.ok(tp.every((s) => nucleus.has(s.ids[0]!)), `top_p 0.6: every token in the nucleus of ${nucleus.size}`);
  assert.ok(new Set(tp.map((s) => s.ids[0])).size > 1, 'top_p still samples');
});

test('EOS and stop strings end a sequence; max_new_tokens ends the rest', async () => {
  const { model } = await setup();
  const free = await generate(model, PROMPTS, { tokenizer, do_sample: false, max_new_tokens: 10, eos_token_id: null });
  assert.ok(free.every((s) => s.finishReason === 'length' && !s.stopped && s.ids.length === 10));
  // Make the third greedy token of prompt 1 the EOS: the sequence ends there, EOS included.
  const eos = free[1]!.ids[2]!;
  const firstAt = free.map((s) => s.ids.indexOf(eos));
  const withEos = await generate(model, PROMPTS, { tokenizer, do_sample: false, max_new_tokens: 10, eos_token_id: eos, sync_every: 4 });
  withEos.forEach((s, i) => {
    const at = firstAt[i]!;
    assert.equal(s.ids, at >= 0 ? free[i]!.ids.slice(0, at + 1) : free[i]!.ids, `sequence ${i}`);
    assert.is(s.finishReason, at >= 0 ? 'eos' : 'length');
    assert.is(s.logprobs.length, s.ids.length);
  });
  // A stop string made of the text of tokens 3..4 of prompt 0.
  const stop = tokenizer.decode(free[0]!.ids.slice(3, 5));
  const stopped = await generate(model, PROMPTS, { tokenizer, do_sample: false, max_new_tokens: 10, eos_token_id: null, stop_strings: [stop] });
  const s0 = stopped[0]!;
  assert.is(s0.finishReason, 'stop');
  assert.ok(s0.stopped);
  assert.ok(s0.ids.length <= 5, `ends at the token completing "${stop}"`);
  assert.ok(s0.text.endsWith(stop), `text ${JSON.stringify(s0.text)} ends with the stop string`);
  assert.equal(s0.ids, free[0]!.ids.slice(0, s0.ids.length));
});

test('scoring: per-token log-probs, entropies, values and rewards match the float64 reference', async () => {
  const { be, model, weights } = await setup();
  const pairs = [
    { prompt: tokenizer.encode('Hello'), response: tokenizer.encode(' world') },
    { prompt: tokenizer.encode('A'), response: tokenizer.encode('BCDEFG') },
    { prompt: tokenizer.encode('longer prompt here'), response: [] },
  ];
  const temperature = 0.7;
  const scores = await scoreSequences(model, pairs, { temperature, batch_size: 2 });
  const V = CONFIG.vocab_size;
  for (const [i, { prompt, response }] of pairs.entries()) {
    const ids = [...prompt, ...response];
    const ref = gptReference(CONFIG, toF64(weights), prepareBatch({ inputIds: [ids] }, architectureOf(CONFIG)));
    const got = scores[i]!;
    assert.is(got.logprobs.length, response.length);
    response.forEach((token, k) => {
      const t = prompt.length - 1 + k;
      const row = Array.from(ref.logits.subarray(t * V, (t + 1) * V), (x) => x / temperature);
      const m = Math.max(...row);
      const logZ = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
      const entropy = -row.reduce((a, x) => a + Math.exp(x - logZ) * (x - logZ), 0);
      assert.ok(Math.abs(got.logprobs[k]! - (row[token]! - logZ)) <= LOGPROB_TOL, `pair ${i} token ${k}: logprob ${got.logprobs[k]} vs ${row[token]! - logZ}`);
      assert.ok(Math.abs(got.entropies[k]! - entropy) <= 1e-4, `pair ${i} token ${k}: entropy`);
      assert.ok(Math.abs(got.values![k]! - ref.values![t]!) <= 1e-4, `pair ${i} token ${k}: value`);
    });
    assert.ok(Math.abs(got.reward! - ref.scores![0]!) <= 1e-4, `pair ${i}: reward ${got.reward} vs ${ref.scores![0]}`);
  }
  // The reward-only path (no LM logits) gives the same rewards.
  const rewards = await rewardScores(model, pairs, { batch_size: 2 });
  assert.is(rewards.length, pairs.length);
  rewards.forEach((r, i) => assert.ok(Math.abs(r - scores[i]!.reward!) <= 1e-5, `pair ${i}: rewardScores ${r} vs ${scores[i]!.reward}`));
  // Generation's log-probs are the scored ones of its own responses.
  const gen = await generate(model, PROMPTS, { tokenizer, max_new_tokens: 6, temperature, seed: 1, eos_token_id: null });
  const rescored = await scoreSequences(model, gen.map((s) => ({ prompt: s.promptIds, response: s.ids })), { temperature });
  gen.forEach((s, i) => s.logprobs.forEach((l, k) => assert.ok(Math.abs(l - rescored[i]!.logprobs[k]!) <= LOGPROB_TOL, `generated ${i}/${k}`)));
  void be;
});

test('bad input: long prompts, unknown ids and bad options are typed errors that say what to change', async () => {
  const { model } = await setup();
  const long = 'x'.repeat(CONFIG.n_positions + 1);
  await rejectsWith(generate(model, [long], { tokenizer }), errorOf(BatchError, /n_positions = 48; shorten the prompt to fewer than 48 tokens/), 'n_positions = 48; shorten the prompt to fewer than 48 tokens');
  await rejectsWith(generate(model, ['x'.repeat(40)], { tokenizer, max_new_tokens: 16 }), errorOf(BatchError, /lower max_new_tokens to 8/), 'lower max_new_tokens to 8');
  await rejectsWith(generate(model, [[1, 2, 999]], {}), errorOf(BatchError, /token id 999 at position 2, outside the model's vocabulary 0\.\.258/), "/token id 999 at position 2, outside the model's vocabulary 0\\.\\.258/");
  await rejectsWith(generate(model, [[]], {}), errorOf(BatchError, /prompt 0 has no tokens/), 'prompt 0 has no tokens');
  await rejectsWith(generate(model, ['hi'], {}), errorOf(ConfigError, /need a tokenizer/), 'need a tokenizer');
  await rejectsWith(generate(model, ['hi'], { tokenizer, top_p: 0 }), errorOf(ConfigError, /top_p must be in \(0, 1\]/), 'top_p must be in \\(0, 1\\]');
  await rejectsWith(generate(model, ['hi'], { tokenizer, temperature: -1 }), errorOf(ConfigError, /temperature/), 'temperature');
  await rejectsWith(generate(model, ['hi'], { tokenizer, top_k: 1.5 }), errorOf(ConfigError, /top_k must be an integer/), 'top_k must be an integer');
  await rejectsWith(generate(model, ['hi'], { tokenizer, eos_token_id: 5000 }), errorOf(ConfigError, /eos_token_id 5000 is not a token id/), 'eos_token_id 5000 is not a token id');
  await rejectsWith(generate(model, ['hi'], { tokenizer, maxNewTokens: 3 } as never), errorOf(ConfigError, /unknown option "maxNewTokens"/), 'unknown option "maxNewTokens"');
  await rejectsWith(scoreSequences(model, [{ prompt: [], response: [1] }]), errorOf(BatchError, /empty prompt/), 'empty prompt');
});

test.run();
