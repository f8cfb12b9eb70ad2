// RLP's host-side pieces on hand-made inputs: AlpacaFarm's win-rate (one or several answers
// per prompt), the paired bootstrap, SPG's clustering, confidence filter and pair selection,
// the SPG ablation's pairs, the cosine equivalence, and preference-data hygiene.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AnnotatorError, ConfigError, EquivalenceError,
  auditPreferences, clusterOutputs, cosineEquivalence, evaluateWinRate, meanLogprob, mergePreferences, pairedBootstrap, promptWinRate, rankedPair, rankedPreferences,
  selectSyntheticPair, synthesizePreferences, winRate,
  type Equivalence, type PreferenceCode, type SampleGroup,
} from 'webrlhf';
import { errorOf, rejectsWith } from './harness/rejects.js';

const test = suite('rlp pieces');

/** Outputs are equivalent when they start with the same letter (an answer-equivalence stand-in). */
const sameInitial: Equivalence = (a, b) => a[0] === b[0];

/** A seeded uniform generator for tests (mulberry32). */
function uniforms(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('win-rate: all wins 100, all draws 50, all losses 0, a mixed set by hand', () => {
  assert.equal(winRate([2, 2, 2]), { win_rate: 100, standard_error: 0, n: 3, wins: 3, losses: 0, draws: 0 });
  assert.equal(winRate([0, 0]), { win_rate: 50, standard_error: 0, n: 2, wins: 0, losses: 0, draws: 2 });
  assert.is(winRate([1, 1, 1, 1]).win_rate, 0);
  // Values 1, 1, 0, ½: mean 0.625; squared deviations .140625 + .140625 + .390625 + .015625 = .6875;
  // sample variance .6875 / 3, standard error √(.6875 / 3 / 4).
  const mixed = winRate([2, 2, 1, 0]);
  assert.is(mixed.win_rate, 62.5);
  assert.ok(Math.abs(mixed.standard_error - 100 * Math.sqrt(0.6875 / 12)) < 1e-12, `standard error ${mixed.standard_error}`);
  assert.equal([mixed.wins, mixed.losses, mixed.draws, mixed.n], [2, 1, 1, 4]);
  // One win, one loss: values 1 and 0, mean ½, sample sd √½, s.e. √½ / √2 = ½.
  assert.is(winRate([2, 1]).standard_error, 50);
  const single = winRate([2]);
  assert.is(single.win_rate, 100);
  assert.ok(Number.isNaN(single.standard_error), 'one item: the standard error is unknown (NaN)');
});

test('win-rate: an invalid code names its index and value; no codes is an error', () => {
  assert.throws(() => winRate([2, 0, 3 as PreferenceCode]), errorOf(AnnotatorError, /code 2 is 3/, /0 \(draw\), 1 \(reference wins\) or 2 \(model wins\)/));
  assert.throws(() => winRate([2, '1' as unknown as PreferenceCode]), (e: unknown) => e instanceof AnnotatorError && e.index === 1 && e.value === '1');
  assert.throws(() => winRate([]), errorOf(ConfigError, /no preference codes/));
});

test('promptWinRate: a prompt scores the mean value of its codes; the s.e. is over prompts; one code per prompt is winRate', () => {
  // Prompt scores: (1 + ½ + 0 + 1)/4 = 0.625, (0 + 0)/2 = 0, 1: mean 0.541666…
  const r = promptWinRate([[2, 0, 1, 2], [1, 1], [2]]);
  assert.equal(r.scores, [0.625, 0, 1]);
  assert.ok(Math.abs(r.win_rate - (100 * 1.625) / 3) < 1e-12, `win-rate ${r.win_rate}`);
  const mean = 1.625 / 3;
  const sd = Math.sqrt(((0.625 - mean) ** 2 + mean ** 2 + (1 - mean) ** 2) / 2);
  assert.ok(Math.abs(r.standard_error - (100 * sd) / Math.sqrt(3)) < 1e-12, `standard error ${r.standard_error}`);
  assert.equal([r.n, r.wins, r.draws, r.losses], [3, 3, 1, 3], 'n counts prompts; wins, draws and losses count every code');
  const codes: PreferenceCode[] = [2, 1, 0, 2, 2];
  const { scores, ...single } = promptWinRate(codes.map((c) => [c]));
  assert.equal(single, winRate(codes));
  assert.equal(scores, [1, 0, 0.5, 1, 1]);
  assert.throws(() => promptWinRate([[2], []]), errorOf(ConfigError, /prompt 1 has no preference codes/));
  assert.throws(() => promptWinRate([[2], [0, 5 as PreferenceCode]]), (e: unknown) => e instanceof AnnotatorError && e.index === 2 && e.value === 5);
});

/** Per-prompt scores (win-rate points) of hand-made codes, two samples per prompt. */
const points = (groups: PreferenceCode[][]) => promptWinRate(groups).scores.map((x) => 100 * x);

test('paired bootstrap: the mean per-prompt difference, an interval around it of the normal width, identical rows give [0, 0], the same seed the same interval', () => {
  // 200 prompts: b answers [loss, draw] on each (25 points); a wins both on every fourth prompt
  // and answers as b elsewhere, so a − b is 75 points on 50 prompts and 0 on the rest: mean 18.75.
  const b = points(Array.from({ length: 200 }, () => [1, 0]));
  const a = points(Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? [2, 2] : [1, 0])));
  const d = pairedBootstrap(a, b, { seed: 7 });
  assert.is(d.n, 200);
  assert.ok(Math.abs(d.mean - 18.75) < 1e-12, `mean ${d.mean}`);
  assert.ok(d.low < d.mean && d.mean < d.high, `[${d.low}, ${d.high}] holds ${d.mean}`);
  // The differences' s.e. is 75·√(¼·¾)/√200·√(200/199) ≈ 2.3; a 95% interval spans about ±1.96 of it.
  const se = (75 * Math.sqrt(0.25 * 0.75)) / Math.sqrt(199);
  for (const [end, want] of [[d.low, d.mean - 1.96 * se], [d.high, d.mean + 1.96 * se]] as const) {
    assert.ok(Math.abs(end - want) < 0.6 * se, `end ${end.toFixed(2)} against the normal approximation's ${want.toFixed(2)}`);
  }
  assert.equal(pairedBootstrap(a, b, { seed: 7 }), d, 'the same seed gives the same interval');
  const spread = Array.from({ length: 101 }, (_, i) => ((i * 37) % 101) - 40);
  const zeros = spread.map(() => 0);
  assert.not.equal(pairedBootstrap(spread, zeros, { seed: 1 }), pairedBootstrap(spread, zeros, { seed: 2 }), 'another seed resamples otherwise');
  const narrow = pairedBootstrap(a, b, { seed: 7, confidence: 0.5 });
  assert.ok(narrow.low > d.low && narrow.high < d.high, 'a 50% interval lies inside the 95% one');
  // Swapping the rows negates everything; a row against itself is exactly 0 with a zero-width interval.
  const swapped = pairedBootstrap(b, a, { seed: 7 });
  assert.ok(Math.abs(swapped.mean + d.mean) < 1e-12 && Math.abs(swapped.low + d.high) < 1e-9 && Math.abs(swapped.high + d.low) < 1e-9, JSON.stringify(swapped));
  assert.equal(pairedBootstrap(a, a, { seed: 3 }), { mean: 0, low: 0, high: 0, n: 200 });
  // Unpaired noise cancels: both rows differ from prompt to prompt, but by the same amount.
  const shared = Array.from({ length: 50 }, (_, i) => (i * 37) % 100);
  assert.equal(pairedBootstrap(shared.map((x) => x + 5), shared, { seed: 1 }), { mean: 5, low: 5, high: 5, n: 50 });
  assert.throws(() => pairedBootstrap([1, 2], [1], { seed: 0 }), errorOf(ConfigError, /2 scores against 1/));
  assert.throws(() => pairedBootstrap([], [], { seed: 0 }), errorOf(ConfigError, /no prompts/));
  assert.throws(() => pairedBootstrap([1], [NaN], { seed: 0 }), errorOf(ConfigError, /prompt 0's scores/));
  assert.throws(() => pairedBootstrap([1], [1], { seed: 0, confidence: 1 }), errorOf(ConfigError, /confidence/));
});

test('evaluateWinRate: annotates each item in order; a bad or failing annotator names the prompt', async () => {
  const items = [
    { prompt: 'p0', reference: 'ref', output: 'better' },
    { prompt: 'p1', reference: 'ref', output: 'ref' },
    { prompt: 'p2', reference: 'ref', output: 'worse' },
  ];
  const seen: number[] = [];
  const judge = async (i: { reference: string; output: string; index: number }): Promise<PreferenceCode> => {
    seen.push(i.index);
    return i.output === 'better' ? 2 : i.output === i.reference ? 0 : 1;
  };
  const r = await evaluateWinRate(items, judge);
  assert.equal(r.codes, [2, 0, 1]);
  assert.equal(seen, [0, 1, 2]);
  assert.is(r.win_rate, 50);
  await rejectsWith(
    evaluateWinRate(items, (i) => (i.index === 1 ? (7 as PreferenceCode) : 2)),
    (e) => e instanceof AnnotatorError && /returned 7 for item 1/.test(e.message) && /"p1"/.test(e.message) && e.prompt === 'p1',
    'annotator returning 7',
  );
  const boom = new Error('judge offline');
  await rejectsWith(
    evaluateWinRate(items, (i) => { if (i.index === 2) throw boom; return 2; }),
    (e) => e instanceof AnnotatorError && /"p2"/.test(e.message) && /judge offline/.test(e.message) && e.cause === boom,
    'throwing annotator',
  );
});

test('clustering: join the first cluster whose representative is equivalent both ways', () => {
  assert.equal(clusterOutputs(['a1', 'a2', 'b1', 'a3', 'c1', 'b2'], sameInitial, 'q'), [[0, 1, 3], [2, 5], [4]]);
  // Containment: "ab" is equivalent to both "a" and "b", which are not to each other; it joins the first cluster formed.
  const overlaps: Equivalence = (a, b) => a.includes(b) || b.includes(a);
  assert.equal(clusterOutputs(['a', 'b', 'ab'], overlaps, 'q'), [[0, 2], [1]]);
  // Only the representative counts: "b" is inside member "ab" but not equivalent to representative "a".
  assert.equal(clusterOutputs(['a', 'ab', 'b'], overlaps, 'q'), [[0, 1], [2]]);
  // Not symmetric: "x" entails "xy" (a prefix) but "xy" does not entail "x", so "xy" starts its own cluster.
  const prefixOf: Equivalence = (a, b) => b.startsWith(a);
  assert.equal(clusterOutputs(['x', 'xy', 'x'], prefixOf, 'q'), [[0, 2], [1]]);
  const reversed: Equivalence = (a, b) => a.startsWith(b);
  assert.equal(clusterOutputs(['x', 'xy', 'x'], reversed, 'q'), [[0, 2], [1]], 'the other direction alone is not enough either');
  assert.equal(clusterOutputs([], sameInitial, 'q'), []);
  const prompts = new Set<string>();
  clusterOutputs(['a', 'b'], (a, b, p) => { prompts.add(p); return a === b; }, 'the prompt');
  assert.equal([...prompts], ['the prompt'], 'the equivalence is told the prompt');
});

test('a throwing or non-boolean equivalence: EquivalenceError naming the prompt and the outputs, cause attached', () => {
  const boom = new Error('NLI model not loaded');
  const throwing: Equivalence = () => { throw boom; };
  const long = 'y'.repeat(500);
  assert.throws(
    () => clusterOutputs(['first answer', long], throwing, 'What is 2+2?'),
    (e: unknown) => e instanceof EquivalenceError && e.cause === boom && e.prompt === 'What is 2+2?' &&
      /"What is 2\+2\?"/.test(e.message) && /"first answer"/.test(e.message) && /NLI model not loaded/.test(e.message) &&
      /must return a boolean/.test(e.message) && e.message.length < 400,
  );
  assert.throws(
    () => clusterOutputs(['a', 'b'], (() => 1) as unknown as Equivalence, 'p'),
    errorOf(EquivalenceError, /returned 1/, /true or false/),
  );
  assert.throws(
    () => synthesizePreferences([{ prompt: 'deep prompt', outputs: ['a', 'b'], scores: [0, 0] }], throwing, { seed: 1 }),
    errorOf(EquivalenceError, /"deep prompt"/),
  );
});

/** Ten samples: `sizes` clusters by first letter (a…, b…, …), scores all 0 unless given. */
function group(sizes: number[], scores?: number[]): SampleGroup {
  const outputs = sizes.flatMap((k, c) => Array.from({ length: k }, (_, j) => `${String.fromCharCode(97 + c)}${j}`));
  return { prompt: `q${sizes.join('-')}`, outputs, scores: scores ?? outputs.map(() => 0) };
}

test('confidence = |largest cluster| / n, kept iff ≥ gamma (the boundary is kept)', () => {
  const random = uniforms(1);
  const half = selectSyntheticPair({ ...group([5, 3, 2]), equivalent: sameInitial, random });
  assert.is(half.confidence, 0.5);
  assert.ok(half.kept, 'exactly gamma = 0.5 is kept');
  const below = selectSyntheticPair({ ...group([4, 3, 3]), equivalent: sameInitial, random });
  assert.equal([below.kept, below.confidence, !below.kept && below.reason], [false, 0.4, 'low_confidence']);
  assert.ok(selectSyntheticPair({ ...group([4, 3, 3]), equivalent: sameInitial, random, gamma: 0.4 }).kept, 'exactly gamma = 0.4 is kept');
  assert.not.ok(selectSyntheticPair({ ...group([5, 3, 2]), equivalent: sameInitial, random, gamma: 0.5 + 1e-12 }).kept, 'gamma just above the confidence is dropped');
  assert.ok(selectSyntheticPair({ ...group([1, 1, 1]), equivalent: sameInitial, random, gamma: 0 }).kept, 'gamma 0 keeps any prompt with two clusters');
  assert.throws(() => selectSyntheticPair({ ...group([5, 5]), equivalent: sameInitial, random, gamma: 1.5 }), errorOf(ConfigError, /gamma/, /\[0, 1\]/));
});

test('chosen is the best-scored sample of the largest cluster, not the best overall; ties go to the earliest', () => {
  // Cluster a = samples 0..5, cluster b = 6..9; sample 8 (outside) has the top score overall.
  const scores = [0.1, 0.3, 0.9, 0.2, 0.9, 0.0, 0.5, 0.4, 5.0, 0.3];
  const pair = selectSyntheticPair({ ...group([6, 4], scores), equivalent: sameInitial, random: uniforms(2) });
  assert.ok(pair.kept);
  if (!pair.kept) return;
  assert.equal([pair.chosenIndex, pair.chosen], [2, 'a2'], 'a2 and a4 tie at 0.9: the earlier wins');
  assert.equal(pair.clusters, [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9]]);
  // Two clusters of 5 tie for the largest: the first formed (b…, whose representative came first) is used.
  const tie = selectSyntheticPair({
    prompt: 'tie', outputs: ['b0', 'a0', 'a1', 'b1', 'b2', 'a2', 'b3', 'a3', 'b4', 'a4'],
    scores: [0, 9, 9, 1, 0, 9, 0, 9, 0, 9], equivalent: sameInitial, random: uniforms(3),
  });
  assert.ok(tie.kept && tie.chosen === 'b1' && tie.rejected.startsWith('a'), `tie: ${JSON.stringify(tie)}`);
});

test('rejected is always outside the largest cluster, and every outside sample is drawn', () => {
  const g = group([5, 3, 2]);
  const counts = new Map<string, number>();
  const draws = 3000;
  for (let seed = 0; seed < draws; seed++) {
    const pair = selectSyntheticPair({ ...g, equivalent: sameInitial, random: uniforms(seed) });
    assert.ok(pair.kept);
    if (!pair.kept) return;
    assert.not.ok(pair.rejected.startsWith('a'), `seed ${seed}: rejected ${pair.rejected} is in the largest cluster`);
    counts.set(pair.rejected, (counts.get(pair.rejected) ?? 0) + 1);
  }
  assert.equal([...counts.keys()].sort(), ['b0', 'b1', 'b2', 'c0', 'c1']);
  for (const [text, k] of counts) assert.ok(Math.abs(k / draws - 0.2) < 0.03, `${text} drawn ${k} of ${draws} times (uniform: 1/5)`);
  // Through synthesizePreferences's Philox draws too.
  const seeded = new Set<string>();
  for (let seed = 0; seed < 200; seed++) {
    const { records } = synthesizePreferences([g], sameInitial, { seed });
    assert.not.ok(records[0]!.rejected.startsWith('a'), `seed ${seed}`);
    seeded.add(records[0]!.rejected);
  }
  assert.is(seeded.size, 5);
});

test('all samples in one cluster: not kept (nothing to reject)', () => {
  const pair = selectSyntheticPair({ ...group([10]), equivalent: sameInitial, random: uniforms(4) });
  assert.equal(pair, { kept: false, reason: 'single_cluster', confidence: 1, clusters: [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]] });
});

test('synthesizePreferences: one pair per kept prompt, counts, confidences, the same D̂ for the same seed', () => {
  const groups = [group([5, 3, 2], [0, 0, 7, 0, 0, 0, 0, 0, 0, 0]), group([4, 3, 3]), group([10]), group([7, 3])];
  const d = synthesizePreferences(groups, sameInitial, { seed: 11 });
  assert.equal([d.kept, d.lowConfidence, d.singleCluster], [2, 1, 1]);
  assert.equal(d.confidences, [0.5, 0.4, 1, 0.7]);
  assert.equal(d.records.map((r) => [r.prompt, r.chosen]), [['q5-3-2', 'a2'], ['q7-3', 'a0']]);
  assert.equal(synthesizePreferences(groups, sameInitial, { seed: 11 }), d, 'same seed, same pairs');
  assert.equal(synthesizePreferences(groups, sameInitial, { seed: 11, gamma: 0.4 }).kept, 3);
  const rejectedBySeed = new Set(Array.from({ length: 20 }, (_, seed) => synthesizePreferences(groups, sameInitial, { seed }).records[0]!.rejected));
  assert.ok(rejectedBySeed.size > 1, 'different seeds draw different rejected samples');
  assert.throws(() => synthesizePreferences([{ prompt: 'p', outputs: ['a', 'b'], scores: [1] }], sameInitial, { seed: 0 }), errorOf(ConfigError, /2 samples but 1 scores/));
  assert.throws(() => synthesizePreferences([{ prompt: 'p', outputs: ['a', 'b'], scores: [1, NaN] }], sameInitial, { seed: 0 }), errorOf(ConfigError, /score of sample 1 is NaN/));
});

test('SPG ablation pairs: policy-labelled (mean log-probability per token) and ranked by r_φ take the highest over the lowest, unclustered; γ = 0 keeps low-confidence prompts', () => {
  // Four samples of one prompt; the policy likes "b" most per token, r_φ likes "ccc" most.
  const outputs = ['aa', 'b', 'ccc', 'dd'];
  const logprobs = [[-1, -1], [-0.2], [-0.5, -0.5, -2], [-3, -1]].map(meanLogprob);
  assert.equal(logprobs, [-1, -0.2, -1, -2]);
  const policy = rankedPair({ prompt: 'q', outputs, values: logprobs });
  assert.equal(policy, { kept: true, chosen: 'b', rejected: 'dd', chosenIndex: 1, rejectedIndex: 3 });
  assert.equal(rankedPair({ prompt: 'q', outputs, values: [-1, -0.2, -1, -0.2] }), { kept: true, chosen: 'b', rejected: 'aa', chosenIndex: 1, rejectedIndex: 0 }, 'ties go to the earliest');
  const scores = [0.3, -1.5, 2.0, 0.1];
  assert.equal(rankedPair({ prompt: 'q', outputs, values: scores }), { kept: true, chosen: 'ccc', rejected: 'b', chosenIndex: 2, rejectedIndex: 1 });
  assert.equal(rankedPair({ prompt: 'q', outputs, values: [1, 1, 1, 1] }), { kept: false }, 'all equal: no preference');
  assert.equal(rankedPair({ prompt: 'q', outputs: ['x', 'y', 'x'], values: [2, 1, 0] }), { kept: false }, 'the best and worst are the same text');
  assert.equal(meanLogprob([]), 0);
  const d = rankedPreferences([
    { prompt: 'p0', outputs, values: scores },
    { prompt: 'p1', outputs: ['u', 'v'], values: [0, 0] },
    { prompt: 'p2', outputs: ['u', 'v'], values: [-1, 1] },
  ]);
  assert.equal(d, { records: [{ prompt: 'p0', chosen: 'ccc', rejected: 'b' }, { prompt: 'p2', chosen: 'v', rejected: 'u' }], kept: 2, dropped: 1 });
  assert.throws(() => rankedPair({ prompt: 'q', outputs, values: [1, 2] }), errorOf(ConfigError, /4 samples but 2 values/));
  assert.throws(() => rankedPair({ prompt: 'q', outputs: ['a', 'b'], values: [1, Infinity] }), errorOf(ConfigError, /value of sample 1 is Infinity/));
  // γ = 0: a prompt whose largest cluster holds 3 of 10 samples gives a pair, at γ = 0.5 none.
  const scattered = group([3, 3, 2, 2], [0, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.is(synthesizePreferences([scattered], sameInitial, { seed: 1 }).kept, 0);
  const gammaZero = synthesizePreferences([scattered], sameInitial, { seed: 1, gamma: 0 });
  assert.is(gammaZero.records[0]!.chosen, 'a1', "the best-scored of the first largest cluster");
  assert.not.ok(gammaZero.records[0]!.rejected.startsWith('a'));
});

test('cosine equivalence: cos ≥ tau, the boundary included; tau checked; embeddings cached', () => {
  // cos([1, 0], [3, 4]) = 3/5 exactly.
  const embeddings = new Map([['p', [1, 0]], ['q', [3, 4]], ['r', [-1, 0]]]);
  assert.ok(cosineEquivalence(embeddings, 0.6)('p', 'q', ''), 'cos = tau is equivalent');
  assert.not.ok(cosineEquivalence(embeddings, 0.6 + 1e-12)('p', 'q', ''), 'cos just below tau is not');
  assert.not.ok(cosineEquivalence(embeddings, 0.9)('q', 'p', ''));
  assert.ok(cosineEquivalence(embeddings, -1)('p', 'r', ''), 'tau −1 makes everything equivalent');
  assert.ok(cosineEquivalence(embeddings, 1)('q', 'q', ''), 'identical texts are equivalent');
  for (const tau of [1.5, -1.01, NaN]) assert.throws(() => cosineEquivalence(embeddings, tau), errorOf(ConfigError, /tau must be a number in \[-1, 1\]/));
  // The default tau 0.9 through clustering, with an embedding function called once per text.
  const calls = new Map<string, number>();
  const vectors: Record<string, number[]> = { cat: [1, 0.1], kitten: [1, 0.2], dog: [0, 1], puppy: [0.1, 1] };
  const embed = (text: string) => {
    calls.set(text, (calls.get(text) ?? 0) + 1);
    return Float32Array.from(vectors[text]!);
  };
  assert.equal(clusterOutputs(['cat', 'dog', 'kitten', 'puppy'], cosineEquivalence(embed), 'pets'), [[0, 2], [1, 3]]);
  assert.ok([...calls.values()].every((k) => k === 1), `embedding calls per text: ${JSON.stringify([...calls])}`);
  // A missing or zero embedding is reported through clustering with the prompt.
  assert.throws(() => clusterOutputs(['p', 'missing'], cosineEquivalence(embeddings), 'pp'), (e: unknown) =>
    e instanceof EquivalenceError && /"pp"/.test(e.message) && e.cause instanceof ConfigError && /no embedding for output "missing"/.test(e.message));
  assert.throws(() => clusterOutputs(['p', 'z'], cosineEquivalence(new Map([['p', [1]], ['z', [0]]])), 'pp'), errorOf(EquivalenceError, /not all zero/));
});

test('auditPreferences: bad fields and identical pairs are counted and left out', () => {
  const audit = auditPreferences([
    { prompt: 'p0', chosen: 'good', rejected: 'bad' },
    { prompt: 'p1', chosen: 'same', rejected: 'same' },
    { prompt: 'p2', chosen: 'good' },
    { prompt: 'p3', chosen: 'good', rejected: 42 },
    'not a record',
    { prompt: [{ role: 'user', content: 'hi' }], chosen: 'hello', rejected: 'go away' },
  ]);
  assert.is(audit.records.length, 2);
  assert.equal(audit.records[0], { prompt: 'p0', chosen: 'good', rejected: 'bad' });
  assert.is(audit.records[1]!.chosen, 'hello', 'a conversational prompt is kept, rendered');
  assert.is(audit.identical, 1);
  assert.equal(audit.missingField.map(({ index, field }) => [index, field]), [[2, 'rejected'], [3, 'rejected'], [4, null]]);
  assert.match(audit.missingField[0]!.message, /records\[2\]: field "rejected" is missing/);
  assert.equal(auditPreferences([]), { records: [], identical: 0, missingField: [] });
});

test('mergePreferences: a plain union of D and D̂, with counts', () => {
  const d = [{ prompt: 'a', chosen: 'x', rejected: 'y' }];
  const dHat = [{ prompt: 'b', chosen: 'u', rejected: 'v' }, { prompt: 'a', chosen: 'x', rejected: 'y' }];
  assert.equal(mergePreferences(d, dHat), { records: [...d, ...dHat], labelled: 1, synthetic: 2 });
});

test.run();
