// The built-in instruction task of RLP: the seeded generator and splits, the surface flaws
// of demonstrations and references, the simulated reference model, the gold annotator's
// graded scores and preferences, answer equivalence, and the noisy pairwise labeller.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ConfigError, DEFAULT_DEMO_FLAWS, DEFAULT_REFERENCE_FLAWS, INSTRUCTION_KINDS, LEAD_IN_FACTOR, LEAD_IN_PHRASES, TRAILING_JUNK, builtinTaskOptions,
  generateInstructions, goldPreference, goldScore, instructionAnnotator, instructionEquivalence, instructionSplits, labelPreferences, referenceOutput,
  rlpRunConfig, surfaceFlaws, type InstructionExample,
} from 'webrlhf';

const test = suite('instruction task');

const near = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) < 1e-9, `${what}: ${got}, want ${want}`);
const throwsConfig = (f: () => unknown, pattern: RegExp) => assert.throws(f, (e: unknown) => e instanceof ConfigError && pattern.test((e as Error).message));

/** One hand-made example of each kind. */
const EXAMPLES = {
  sort: { kind: 'sort', prompt: 'Sort ascending: 7 3 12\n', payload: { numbers: [7, 3, 12] }, answer: '3 7 12' },
  reverse: { kind: 'reverse', prompt: 'Reverse the word: kalimo\n', payload: { word: 'kalimo' }, answer: 'omilak' },
  count: { kind: 'count', prompt: 'Count the letter a in: banana\n', payload: { letter: 'a', text: 'banana' }, answer: '3' },
  evens: { kind: 'evens', prompt: 'List the even numbers: 3 8 5 2 11\n', payload: { numbers: [3, 8, 5, 2, 11] }, answer: '8 2' },
  add: { kind: 'add', prompt: 'What is 23 + 48?\n', payload: { left: 23, right: 48 }, answer: '71' },
  extreme: { kind: 'extreme', prompt: 'Largest of: 14 9 27 3\n', payload: { numbers: [14, 9, 27, 3], largest: true }, answer: '27' },
  starts_with: { kind: 'starts_with', prompt: 'Words starting with b: bat cow bee ant\n', payload: { letter: 'b', words: ['bat', 'cow', 'bee', 'ant'] }, answer: 'bat bee' },
} satisfies Record<string, InstructionExample>;

test('instructions are seeded, short, balanced over the kinds, and their answers score 1', () => {
  const a = generateInstructions({ seed: 1, count: 700 });
  assert.equal(a, generateInstructions({ seed: 1, count: 700 }), 'the same seed gives the same instructions');
  assert.not.equal(a.map((e) => e.prompt), generateInstructions({ seed: 2, count: 700 }).map((e) => e.prompt));
  assert.equal(generateInstructions({ seed: 1, count: 5, first: 10 }), a.slice(10, 15), '`first` skips draws');
  for (const kind of INSTRUCTION_KINDS) assert.is(a.filter((e) => e.kind === kind).length, 100, `${kind}: kinds take turns`);
  for (const e of a) {
    assert.ok(e.prompt.endsWith('\n') && e.prompt.indexOf('\n') === e.prompt.length - 1, 'one line ending in a newline');
    assert.ok(e.prompt.length <= 60, `prompt ${JSON.stringify(e.prompt)} is short`);
    assert.ok(e.answer.length > 0 && e.answer.length <= 24, `answer ${JSON.stringify(e.answer)} is short`);
    assert.is(goldScore(e, e.answer), 1, `the canonical answer of ${JSON.stringify(e.prompt)} is right`);
  }
  const only = generateInstructions({ seed: 1, count: 20, kinds: ['add', 'count'] });
  assert.equal([...new Set(only.map((e) => e.kind))].sort(), ['add', 'count']);
  throwsConfig(() => generateInstructions({ seed: 1, count: 2, kinds: ['poetry' as never] }), /kinds must be.*sort/);
  throwsConfig(() => generateInstructions({ seed: 1, count: 2, kinds: [] }), /non-empty/);
  throwsConfig(() => generateInstructions({ seed: 1, count: -1 }), /count/);
});

test('splits have their sizes, no prompt in two places, and demonstrations whose answers are right', () => {
  const o = { seed: 4, sft: 600, preference: 300, unlabeled: 300, eval: 200 };
  const s = instructionSplits(o);
  assert.equal(s, instructionSplits(o), 'deterministic');
  assert.equal([s.sft.length, s.preference.length, s.unlabeled.length, s.eval.length], [600, 300, 300, 200]);
  const prompts = [...s.sft.map((d) => d.prompt), ...s.preference.map((e) => e.prompt), ...s.unlabeled.map((e) => e.prompt), ...s.eval.map((e) => e.example.prompt)];
  assert.is(new Set(prompts).size, prompts.length, 'every prompt appears once across the splits');
  // A demonstration is the canonical answer, in an acceptable variant or with surface flaws: right, and graded down only for a flaw.
  const byPrompt = new Map(generateInstructions({ seed: 4, count: 2000 }).map((e) => [e.prompt, e]));
  let variants = 0;
  for (const d of s.sft) {
    const example = byPrompt.get(d.prompt)!;
    assert.ok(instructionEquivalence(example, d.completion, example.answer), `demonstration ${JSON.stringify(d.completion)} for ${JSON.stringify(d.prompt)} gives the answer`);
    const flaws = surfaceFlaws(example, d.completion);
    const flawed = flaws.leadIn || flaws.junk > 0;
    assert.is(goldScore(example, d.completion) === 1, !flawed, `demonstration ${JSON.stringify(d.completion)} scores 1 iff it has no flaw`);
    if (example.answer.includes(' ') && d.completion.includes(example.answer.split(' ').join(', '))) variants++;
  }
  assert.ok(variants > 15 && variants < 150, `some demonstrations are comma-separated lists (${variants} of 600)`);
  assert.ok(instructionSplits({ ...o, demoVariants: false }).sft.every((d) => d.completion === byPrompt.get(d.prompt)!.answer), 'demoVariants: false gives canonical answers');
  // 40 × 9 additions: not enough for 500 distinct prompts.
  throwsConfig(() => instructionSplits({ ...o, kinds: ['add'], sft: 500 }), /distinct prompts/);
});

/** Shares of `texts` (responses to `examples`) with a lead-in, with junk, and how often each phrase was used. */
function flawShares(examples: InstructionExample[], texts: string[]) {
  const flaws = texts.map((t, i) => surfaceFlaws(examples[i]!, t));
  const share = (f: (x: (typeof flaws)[number]) => boolean) => flaws.filter(f).length / texts.length;
  return {
    leadIn: share((x) => x.leadIn),
    junk: share((x) => x.junk > 0),
    leadInPhrases: LEAD_IN_PHRASES.map((p) => texts.filter((t) => t.startsWith(p)).length),
    junkPhrases: TRAILING_JUNK.map((j) => texts.filter((t) => t.endsWith(j)).length),
  };
}

/** Within 4 standard errors of a share `p` over `n` draws. */
const nearShare = (got: number, p: number, n: number, what: string) => assert.ok(Math.abs(got - p) <= 4 * Math.sqrt((p * (1 - p)) / n) + 1e-9, `${what}: ${got}, want ${p}`);

test('demonstrations and references carry each surface flaw at its configured rate, every phrase among them', () => {
  const n = 2000;
  // The demonstrations are among the seed's first draws (repeats skipped).
  const byPrompt = new Map(generateInstructions({ seed: 5, count: 2 * n }).map((e) => [e.prompt, e]));
  for (const [demoFlaws, referenceFlaws] of [[DEFAULT_DEMO_FLAWS, DEFAULT_REFERENCE_FLAWS], [{ leadIn: 0.6, trailingJunk: 0.05 }, { leadIn: 0.1, trailingJunk: 0.5 }]] as const) {
    const s = instructionSplits({ seed: 5, sft: n, preference: 0, unlabeled: 0, eval: n, demoFlaws, referenceFlaws });
    const demos = flawShares(s.sft.map((d) => byPrompt.get(d.prompt)!), s.sft.map((d) => d.completion));
    const references = flawShares(s.eval.map((e) => e.example), s.eval.map((e) => e.reference));
    nearShare(demos.leadIn, demoFlaws.leadIn, n, 'demonstrations with a lead-in');
    nearShare(demos.junk, demoFlaws.trailingJunk, n, 'demonstrations with trailing junk');
    nearShare(references.leadIn, referenceFlaws.leadIn, n, 'references with a lead-in');
    nearShare(references.junk, referenceFlaws.trailingJunk, n, 'references with trailing junk');
    for (const x of [demos, references]) {
      assert.ok([...x.leadInPhrases, ...x.junkPhrases].every((count) => count > 0), `every phrase is drawn: ${x.leadInPhrases} / ${x.junkPhrases}`);
    }
    // Flaws are surface only: references are right as often as asked, flawed or not.
    nearShare(s.eval.filter((e) => instructionEquivalence(e.example, e.reference, e.example.answer)).length / n, 0.65, n, 'right references');
  }
  const none = instructionSplits({ seed: 5, sft: 500, preference: 0, unlabeled: 0, eval: 500, demoFlaws: { leadIn: 0, trailingJunk: 0 }, referenceFlaws: { leadIn: 0, trailingJunk: 0 } });
  assert.ok(none.sft.every((d) => goldScore(byPrompt.get(d.prompt)!, d.completion) === 1), 'no flaws: every demonstration scores 1');
  const all = instructionSplits({ seed: 5, sft: 500, preference: 0, unlabeled: 0, eval: 500, demoFlaws: { leadIn: 1, trailingJunk: 1 }, referenceFlaws: { leadIn: 1 } });
  assert.ok(all.sft.every((d) => { const f = surfaceFlaws(byPrompt.get(d.prompt)!, d.completion); return f.leadIn && f.junk > 0; }), 'rate 1: every demonstration has both');
  assert.ok(all.eval.every((e) => surfaceFlaws(e.example, e.reference).leadIn), 'reference lead-in 1: every reference has one');
  // A length limit drops the lead-in first, then the junk: every demonstration fits.
  const capped = instructionSplits({ seed: 5, sft: 500, preference: 0, unlabeled: 0, eval: 0, demoFlaws: { leadIn: 1, trailingJunk: 1 }, demoMaxLength: 20 });
  const cappedFlaws = capped.sft.map((d) => ({ length: d.completion.length, ...surfaceFlaws(byPrompt.get(d.prompt)!, d.completion) }));
  assert.ok(cappedFlaws.every((f) => f.length <= 20), 'demoMaxLength: no demonstration is longer');
  assert.ok(cappedFlaws.some((f) => f.leadIn && f.junk > 0) && cappedFlaws.some((f) => !f.leadIn && f.junk > 0), 'both flaws where they fit, the junk alone where both do not');
  assert.not.ok(cappedFlaws.some((f) => f.leadIn && f.junk === 0), 'the lead-in goes first');
});

test('the surface-flaw rates are task_* keys of the RLP run, checked to lie in [0, 1]', () => {
  const c = rlpRunConfig({ task_demo_lead_in: 0.5, task_demo_trailing_junk: 0.3, task_reference_lead_in: 0.2, task_reference_trailing_junk: 0.1 });
  const o = builtinTaskOptions(c, 7);
  assert.equal([o.seed, o.demoFlaws, o.referenceFlaws], [7, { leadIn: 0.5, trailingJunk: 0.3 }, { leadIn: 0.2, trailingJunk: 0.1 }]);
  assert.is(o.demoMaxLength, c.max_new_tokens - 1, 'a demonstration and its EOS fit in max_new_tokens');
  const d = rlpRunConfig();
  assert.equal([d.task_demo_lead_in, d.task_demo_trailing_junk], [DEFAULT_DEMO_FLAWS.leadIn, DEFAULT_DEMO_FLAWS.trailingJunk]);
  assert.equal([d.task_reference_lead_in, d.task_reference_trailing_junk], [DEFAULT_REFERENCE_FLAWS.leadIn, DEFAULT_REFERENCE_FLAWS.trailingJunk]);
  for (const key of ['task_demo_lead_in', 'task_demo_trailing_junk', 'task_reference_lead_in', 'task_reference_trailing_junk']) {
    for (const bad of [-0.1, 1.5]) throwsConfig(() => rlpRunConfig({ [key]: bad }), new RegExp(key));
  }
  const o0 = { seed: 1, sft: 10, preference: 0, unlabeled: 0, eval: 10 };
  throwsConfig(() => instructionSplits({ ...o0, demoFlaws: { leadIn: 1.5 } }), /demoFlaws\.leadIn/);
  throwsConfig(() => instructionSplits({ ...o0, referenceFlaws: { trailingJunk: -1 } }), /referenceFlaws\.trailingJunk/);
  throwsConfig(() => instructionSplits({ ...o0, referenceFlaws: { leadIn: NaN } }), /referenceFlaws\.leadIn/);
  throwsConfig(() => instructionSplits({ ...o0, demoMaxLength: -1 }), /demoMaxLength/);
});

test('the simulated reference is right about as often as asked, and partly right otherwise', () => {
  const s = instructionSplits({ seed: 8, sft: 0, preference: 0, unlabeled: 0, eval: 3000, referenceFlaws: { leadIn: 0, trailingJunk: 0 } });
  const scores = s.eval.map(({ example, reference }) => goldScore(example, reference));
  const right = scores.filter((g) => g === 1).length / scores.length;
  // 0.65 ± 4 standard errors (0.0087 at n = 3000).
  assert.ok(Math.abs(right - 0.65) < 0.035, `right ${right}`);
  for (const [i, g] of scores.entries()) if (g < 1) assert.ok(g > 0 && g < 0.9, `a wrong reference earns partial credit: ${JSON.stringify(s.eval[i]!.reference)} scored ${g}`);
  const example = s.eval[0]!.example;
  const clean = { leadIn: 0, trailingJunk: 0 };
  assert.ok(s.eval.every(({ example }, index) => referenceOutput(example, { seed: 8, index, quality: 1, flaws: clean }) === example.answer), 'quality 1: always right');
  assert.ok(s.eval.every(({ example }, index) => goldScore(example, referenceOutput(example, { seed: 8, index, quality: 0 })) < 1), 'quality 0: never right');
  assert.equal(s.eval.map((e) => e.reference), s.eval.map(({ example }, index) => referenceOutput(example, { seed: 8, index, flaws: clean })), 'the splits\' references');
  throwsConfig(() => referenceOutput(example, { seed: 1, index: 0, quality: 1.5 }), /referenceQuality/);
});

test('the gold score grades each kind: right = acceptable variant > lead-in > partial > junk ≥ empty = 0', () => {
  /** Per kind: [exact, acceptable variant, partial, garbage]. */
  const cases: Record<keyof typeof EXAMPLES, [string, string, string, string]> = {
    sort: ['3 7 12', '3, 7, 12.', '3 12 7', 'twelve'],
    reverse: ['omilak', 'OMILAK', 'omilka', 'xyz'],
    count: ['3', 'three', '4', 'many'],
    evens: ['8 2', '2, 8', '8', 'even'],
    add: ['71', ' 71.', '72', 'lots'],
    extreme: ['27', '27.', '14', '5'],
    starts_with: ['bat bee', 'bee, bat', 'bat', 'xyz'],
  };
  for (const [kind, [exact, variant, partial, garbage]] of Object.entries(cases)) {
    const e = EXAMPLES[kind as keyof typeof EXAMPLES];
    const score = (r: string) => goldScore(e, r);
    assert.is(score(exact), 1, `${kind}: exact`);
    assert.is(score(variant), 1, `${kind}: ${JSON.stringify(variant)} is as right`);
    near(score(`Answer: ${exact}`), 0.9, `${kind}: the lead-in is mildly penalised`);
    assert.ok(score(partial) > 0 && score(partial) < 0.9, `${kind}: partial ${JSON.stringify(partial)} scored ${score(partial)}`);
    assert.is(score(garbage), 0, `${kind}: garbage ${JSON.stringify(garbage)}`);
    assert.is(score(''), 0, `${kind}: empty`);
    assert.is(score('Answer:'), 0, `${kind}: a lead-in alone`);
    const ranOn = score(`${exact}\n${e.prompt}${exact}`);
    assert.ok(ranOn >= 0.4 && ranOn <= 0.7, `${kind}: a right answer that ran on into another line scored ${ranOn}`);
    assert.ok(score(`${partial}\n${e.prompt}`) < score(partial), `${kind}: junk lowers a partial answer too`);
  }
});

test('the gold score ranks right answers clean > lead-in > lead-in + junk, for every phrase; equivalence ignores the flaws', () => {
  for (const e of Object.values(EXAMPLES)) {
    for (const lead of LEAD_IN_PHRASES) {
      assert.equal(surfaceFlaws(e, lead + e.answer), { leadIn: true, junk: 0 }, `${JSON.stringify(lead)} is read as a lead-in`);
      near(goldScore(e, lead + e.answer), LEAD_IN_FACTOR, `${e.kind}: ${JSON.stringify(lead + e.answer)}`);
      for (const junk of TRAILING_JUNK) {
        const flawed = lead + e.answer + junk;
        const f = surfaceFlaws(e, flawed);
        assert.ok(f.leadIn && f.junk >= junk.trim().length - 2, `${JSON.stringify(flawed)}: a lead-in and junk (${f.junk} characters)`);
        assert.ok(goldScore(e, e.answer + junk) < LEAD_IN_FACTOR, `${JSON.stringify(e.answer + junk)}: junk costs more than a lead-in`);
        assert.ok(goldScore(e, flawed) < goldScore(e, lead + e.answer) && goldScore(e, flawed) < goldScore(e, e.answer + junk), `${JSON.stringify(flawed)} scored ${goldScore(e, flawed)}`);
        assert.ok(goldScore(e, flawed) >= 0.36, `${JSON.stringify(flawed)}: still right, so above the floor of 0.4 · 0.9`);
        assert.ok(instructionEquivalence(e, flawed, e.answer), `${JSON.stringify(flawed)} ≡ ${JSON.stringify(e.answer)}`);
        assert.is(goldPreference(e, e.answer, flawed), 1);
      }
    }
  }
  // The readings that must not change: a lead-in-like word inside an answer, a final full stop.
  assert.equal(surfaceFlaws(EXAMPLES.sort, '3, 7, 12.'), { leadIn: false, junk: 0 });
  assert.equal(surfaceFlaws(EXAMPLES.starts_with, 'bat bee'), { leadIn: false, junk: 0 });
  assert.is(goldScore({ ...EXAMPLES.reverse, payload: { word: 'erusa' }, answer: 'asure' }, 'asure'), 1, 'a word containing "sure" is no lead-in');
});

test('partial credit follows the documented rules', () => {
  const { sort, reverse, count, evens, add, extreme, starts_with } = EXAMPLES;
  near(goldScore(sort, '3 12 7'), 0.8 * (2 / 3) ** 2, 'sort: all items, 2 of 3 pairs ascending (0.8·F1·order²)');
  near(goldScore(sort, '3 7'), 0.8 * 0.8, 'sort: one item missing, in order');
  near(goldScore(sort, '12 7 3'), 0, 'sort: descending earns nothing');
  near(goldScore(reverse, 'omila'), 0.8 * (5 / 6) ** 2, 'reverse: one letter short (0.8·similarity²)');
  near(goldScore(count, '4'), 0.5, 'count: one off');
  near(goldScore(count, '1'), 0.25, 'count: two off');
  near(goldScore(evens, '8'), 0.8 * (2 / 3) ** 2, 'evens: one missed (0.8·F1²)');
  near(goldScore(evens, '3 8 5 2 11'), 0.8 * (4 / 7) ** 2, 'evens: copying the list earns little');
  near(goldScore(add, '61'), 0.4, 'add: tens digit wrong (0.8 × digits right)');
  near(goldScore(add, '17'), 0, 'add: no digit in place');
  near(goldScore({ ...add, payload: { left: 23, right: 27 }, answer: '50' }, '49'), 0.4 * 0.9, 'add: no digit in place but one off (0.4·(1 − off/10))');
  near(goldScore(extreme, '14'), 0.5, 'extreme: the second largest');
  near(goldScore(extreme, '9'), 0.25, 'extreme: the third largest');
  near(goldScore({ ...extreme, payload: { ...extreme.payload, largest: false }, answer: '3' }, '9'), 0.5, 'extreme: the second smallest');
  near(goldScore(starts_with, 'bat bee cow'), 0.8 * 0.8 ** 2, 'starts_with: one wrong word let in');
  near(goldScore(starts_with, 'bat bea'), 0.8 * (2 * (1 + 2 / 3) / 4) ** 2, 'starts_with: a misspelt word earns its similarity');
  near(goldScore(add, '71 is the answer'), 0.7 - (0.3 * 13) / 30, 'junk after a one-word answer');
  near(goldScore(add, 'The answer is 71.'), 0.9, 'the long lead-in');
  near(goldScore(add, '71\nWhat is 1 + 1?\n71\nWhat is 2 + 2?\n71\nWhat'), 0.4, 'a long run-on floors at 0.4');
});

test('preferences: 1 when the first is better, 2 when the second is, 0 within the tolerance; the annotator uses the evaluation codes', () => {
  const e = EXAMPLES.add;
  assert.is(goldPreference(e, '71', '72'), 1);
  assert.is(goldPreference(e, '72', '71'), 2);
  assert.is(goldPreference(e, '71', '71.'), 0, 'equal scores');
  assert.is(goldPreference(e, '72', '61'), 0, 'both 0.4');
  assert.is(goldPreference(e, '71', 'Answer: 71'), 1, 'the lead-in loses by more than the tolerance');
  assert.is(goldPreference(e, '71', 'Answer: 71', 0.2), 0, 'a wider tolerance makes it a draw');
  assert.is(instructionAnnotator(e, '71', '72'), 1, 'the reference wins');
  assert.is(instructionAnnotator(e, '72', '71'), 2, 'the model wins');
  assert.is(instructionAnnotator(e, '71', ' 71'), 0, 'a draw');
});

test('answer equivalence ignores format, not content', () => {
  const { sort, reverse, count, evens, add, extreme, starts_with } = EXAMPLES;
  const same: [InstructionExample, string, string][] = [
    [sort, '3 7 12', '3, 7, 12'],
    [sort, '7 3 12', 'Answer: 7, 3, 12.'],
    [reverse, 'omilak', 'OMILAK'],
    [count, '3', 'three'],
    [count, 'Answer: 3', '3\nmore text'],
    [evens, '8 2', '2, 8'],
    [evens, '8 2', '8 and 2'],
    [add, '71', '071'],
    [extreme, 'The answer is 27', '27.'],
    [starts_with, 'bat bee', 'Bee, bat'],
    [add, '', '  '],
  ];
  for (const [e, a, b] of same) assert.ok(instructionEquivalence(e, a, b) && instructionEquivalence(e, b, a), `${e.kind}: ${JSON.stringify(a)} ≡ ${JSON.stringify(b)}`);
  const different: [InstructionExample, string, string][] = [
    [sort, '3 7 12', '7 3 12'],
    [sort, '3 7 12', '3 7'],
    [reverse, 'omilak', 'omilka'],
    [count, '3', '4'],
    [evens, '8 2', '8'],
    [add, '71', '72'],
    [extreme, '27', '14'],
    [starts_with, 'bat bee', 'bat'],
    [add, '71', ''],
  ];
  for (const [e, a, b] of different) assert.not.ok(instructionEquivalence(e, a, b), `${e.kind}: ${JSON.stringify(a)} ≢ ${JSON.stringify(b)}`);
});

/** `n` pairs (canonical answer, a partly right answer) over generated examples: every pair is ranked. */
function rankedPairs(n: number): { examples: InstructionExample[]; a: string[]; b: string[] } {
  const examples = generateInstructions({ seed: 11, count: n });
  const b = examples.map((e, index) => referenceOutput(e, { seed: 11, index, quality: 0 }));
  return { examples, a: examples.map((e) => e.answer), b };
}

test('label noise replaces a quarter of the labels by a coin: about 1/8 come out flipped', () => {
  const n = 8000;
  const { examples, a, b } = rankedPairs(n);
  const noisy = labelPreferences(examples, a, b, { seed: 3 });
  assert.is(noisy.ties + noisy.identical, 0, 'every pair is ranked');
  assert.is(noisy.records.length, n);
  // The count agrees with the records: a flipped record chose the worse response.
  const worse = noisy.records.filter((r, i) => goldScore(examples[i]!, r.chosen) < goldScore(examples[i]!, r.rejected)).length;
  assert.is(noisy.flipped, worse);
  // 0.25 · ½ = 0.125, σ = 0.0037 at n = 8000: ±4σ.
  assert.ok(Math.abs(noisy.flipped / n - 0.125) < 0.015, `flipped ${noisy.flipped / n}`);
  assert.ok(noisy.records.every((r, i) => r.prompt === examples[i]!.prompt && new Set([r.chosen, r.rejected]).size === 2 && [a[i], b[i]].includes(r.chosen)));
  assert.equal(labelPreferences(examples, a, b, { seed: 3 }), noisy, 'seeded');
  assert.not.equal(labelPreferences(examples, a, b, { seed: 4 }).records, noisy.records);
  const clean = labelPreferences(examples, a, b, { seed: 3, labelNoise: 0 });
  assert.is(clean.flipped, 0);
  assert.ok(clean.records.every((r, i) => r.chosen === a[i]), 'no noise: the right answer is always chosen');
  const coin = labelPreferences(examples, a, b, { seed: 3, labelNoise: 1 });
  assert.ok(Math.abs(coin.flipped / n - 0.5) < 0.025, `all noise: a coin (${coin.flipped / n})`);
});

test('identical pairs are counted and left out; draws are counted and labelled by a coin', () => {
  const e = EXAMPLES.add;
  const examples = Array.from({ length: 2000 }, () => e);
  // Pattern: identical, a draw of two different texts (both 0.4), a ranked pair.
  const a = examples.map((_, i) => ['71', '72', '71'][i % 3]!);
  const b = examples.map((_, i) => ['71', '61', '13'][i % 3]!);
  const r = labelPreferences(examples, a, b, { seed: 9 });
  const identical = Math.ceil(2000 / 3);
  assert.is(r.identical, identical);
  assert.is(r.records.length, 2000 - identical);
  assert.ok(r.records.every((x) => x.chosen !== x.rejected), 'no record of identical texts');
  const ties = Math.floor((2000 + 1) / 3);
  assert.is(r.ties, ties);
  const tieChose72 = r.records.filter((x) => x.chosen === '72').length / ties;
  assert.ok(Math.abs(tieChose72 - 0.5) < 0.08, `a draw is a fair coin (${tieChose72})`);
  throwsConfig(() => labelPreferences(examples, a, b.slice(1), { seed: 1 }), /equal length/);
  throwsConfig(() => labelPreferences(examples, a, b, { seed: 1, labelNoise: 2 }), /labelNoise/);
});

test.run();
