// RLMEC's host-side pieces on hand-made inputs: the token-id Levenshtein alignment and the
// imitation weights it gives, the clipping of the token-level rewards, the GRM's data, where a
// locate-then-rewrite starts (and when it falls back), and the training rows' normalised
// deduplication and EOS.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  REWRITE_PREFIX, byteTokenizer, grmExamples, imitationWeights, levenshteinAlignment, locateAnswer, locatePrompt, normalisedText, parseLocateAnswer, rewritePrompt, rewriteStart, rewriteStarts, rlmecRows, tokenRewards, withEos,
  type GRMSample, type JudgedPolicySample,
} from 'webrlhf';
import { assertClose } from './harness/reference.js';

const test = suite('rlmec pieces');

test('Levenshtein alignment: distance and which rewrite tokens are edited', () => {
  assert.equal(levenshteinAlignment([1, 2, 3], [1, 2, 3]), { distance: 0, edited: [false, false, false] });
  assert.equal(levenshteinAlignment([1, 2, 3], [1, 9, 3]), { distance: 1, edited: [false, true, false] }, 'a substitution');
  assert.equal(levenshteinAlignment([1, 3], [1, 2, 3]), { distance: 1, edited: [false, true, false] }, 'an insertion');
  assert.equal(levenshteinAlignment([1, 2, 3], [1, 3]), { distance: 1, edited: [false, false] }, 'a deletion leaves no rewrite token edited');
  assert.equal(levenshteinAlignment([], [4, 5]), { distance: 2, edited: [true, true] });
  assert.equal(levenshteinAlignment([4, 5], []), { distance: 2, edited: [] });
  // kitten → sitting: 3 edits (k→s, e→i, insert g).
  const kitten = [...'kitten'].map((c) => c.charCodeAt(0));
  const sitting = [...'sitting'].map((c) => c.charCodeAt(0));
  const a = levenshteinAlignment(kitten, sitting);
  assert.is(a.distance, 3);
  assert.equal(a.edited, [true, false, false, false, true, false, true]);
  // A minimum-edit rewrite: the prefix kept, the tail rewritten.
  const y = [10, 11, 12, 13, 14, 15];
  const yHat = [10, 11, 12, 20, 21, 15, 16];
  assert.equal(levenshteinAlignment(y, yHat).edited, [false, false, false, true, true, false, true]);
});

test('imitation weights: 1.0 on edited rewrite tokens, 0.5 elsewhere and for correct samples', () => {
  assert.equal(imitationWeights([1, 2, 3], [1, 9, 3, 4], false), [0.5, 1, 0.5, 1]);
  assert.equal(imitationWeights([1, 2, 3], [1, 2, 3], true), [0.5, 0.5, 0.5]);
});

test('token rewards are clipped as the spec says', () => {
  assertClose(tokenRewards([0.1, 0.45, 0.5, 0.9, 1], false), [-0.1, -0.05, 0, 0, 0], { atol: 1e-12, what: 'erroneous sample' });
  assertClose(tokenRewards([0.1, 0.5, 0.7, 1], true), [0, 0, 0.2, 0.5], { atol: 1e-12, what: 'correct sample' });
});

test('GRM examples: the spec\'s prompt fields, numbered steps, targets, copies kept at #erroneous / #all, failed rewrites dropped', () => {
  const q = 'Ann has 3 apples. Gets 5 more. How many apples now?';
  const solution = '3+5=8\nThe answer is 8';
  assert.is(locatePrompt(q, solution, '3+5=9\nThe answer is 9'),
    `Problem: ${q}\nCorrect solution:\n[1] 3+5=8\n[2] The answer is 8\nPrediction:\n[1] 3+5=9\n[2] The answer is 9\nFind the first error step in prediction.\n`);
  assert.is(rewritePrompt(q, solution, '3+5=9\nThe answer is 9'),
    `Problem: ${q}\nCorrect solution:\n3+5=8\nThe answer is 8\nPrediction:\n3+5=9\nThe answer is 9\nCorrect the mistakes in prediction to get the correct answer with minimal modifications.\n`);
  const wrong: GRMSample = { question: q, solution, prediction: '3+5=9\nThe answer is 9', correct: false, rewrite: solution, firstError: 0 };
  const failed: GRMSample = { ...wrong, rewrite: undefined };
  const right: GRMSample = { question: q, solution, prediction: solution, correct: true, rewrite: solution };
  const one = grmExamples([wrong, failed], 1);
  assert.equal(one.examples.map((e) => [e.kind, e.completion]), [['locate', 'The first error step is [1]'], ['rewrite', `${REWRITE_PREFIX}${solution}`]]);
  assert.is(one.dropped, 1);
  // 1 erroneous of 4: each correct sample is kept as a copy with probability 1/4.
  const many = grmExamples([wrong, ...Array.from({ length: 3 }, () => right)], 2);
  const all = grmExamples([...Array.from({ length: 1000 }, () => wrong), ...Array.from({ length: 3000 }, () => right)], 3);
  const copies = all.examples.filter((e) => e.kind === 'copy').length;
  assert.ok(Math.abs(copies / 3000 - 0.25) < 0.03, `${copies} of 3000 correct samples kept as copies`);
  assert.is(copies + all.copiesSkipped, 3000);
  assert.ok(many.examples.every((e) => e.kind !== 'copy' || e.completion === REWRITE_PREFIX + solution), 'a copy example targets the prediction itself');
  assert.equal(grmExamples([right, right], 4).examples, [], 'no erroneous sample: no copies either');
});

test('locate then rewrite: the rewrite is forced to start with the prediction\'s steps before the located one; unusable locate answers fall back to the free rewrite, counted', () => {
  const prediction = '3+5=8\n8-2=5\nThe answer is 5';
  assert.is(parseLocateAnswer('The first error step is [2]'), 2);
  assert.is(parseLocateAnswer(locateAnswer(12)), 12);
  assert.equal(rewriteStart(prediction, locateAnswer(1)), { kept: '' }, 'k = 1: no step kept');
  assert.equal(rewriteStart(prediction, locateAnswer(2)), { kept: '3+5=8\n' });
  assert.equal(rewriteStart(prediction, locateAnswer(3)), { kept: '3+5=8\n8-2=5\n' }, 'only the wrong final answer rewritten');
  assert.equal(rewriteStart(prediction, locateAnswer(4)), { fallback: 'no_error' }, 'keeping every step of a finished wrong prediction says it has no error');
  assert.equal(rewriteStart('3+5=8\n8-2=6\n', locateAnswer(3)), { kept: '3+5=8\n8-2=6\n' }, 'a prediction that stopped before its answer continues after its last step');
  assert.equal(rewriteStart(prediction, locateAnswer(0)), { fallback: 'out_of_range' });
  assert.equal(rewriteStart(prediction, locateAnswer(5)), { fallback: 'out_of_range' });
  assert.equal(rewriteStart(prediction, 'The first error is step 2'), { fallback: 'unparseable' });
  assert.equal(rewriteStart(prediction, ''), { fallback: 'unparseable' });
  const starts = rewriteStarts([prediction, prediction, prediction, prediction], [locateAnswer(2), 'garbage', locateAnswer(9), locateAnswer(1)]);
  assert.equal(starts, { kept: ['3+5=8\n', '', '', ''], fallbacks: 2 }, 'a fallback starts from nothing (the free rewrite) and is counted; k = 1 is not a fallback');
});

test('training rows: correct samples are duplicates when their text matches with whitespace and a final full stop ignored; y ends with EOS', () => {
  assert.is(normalisedText(' 8-2 = 6\nThe answer is 6. '), '8-2=6Theansweris6');
  const prompt = [1, 2];
  const correct = (text: string, ids: number[]): JudgedPolicySample => ({ prompt, ids, text, correct: true, probs: ids.map(() => 0.9) });
  const rows = rlmecRows([
    correct('8-2=6\nThe answer is 6', [5, 6, 9]),
    correct('8-2 = 6\nThe answer is 6.', [5, 7, 6, 9]),
    correct('8-2=6\n The answer is 6 .', [5, 6, 8, 9]),
    { ...correct('8-2=6\nThe answer is 6', [5, 6, 9]), prompt: [1, 3] },
    correct('8-3=5\nThe answer is 6', [5, 4, 9]),
  ]);
  assert.is(rows.duplicates, 2, 'different tokens, the same solution');
  assert.equal(rows.items.map((i) => i[0]!.response), [[5, 6, 9], [5, 6, 9], [5, 4, 9]], 'another prompt or another text is kept');
  const byIds = (ids: number[]) => ({ ...correct('', ids), text: undefined });
  assert.is(rlmecRows([byIds([5, 9]), byIds([5, 9]), byIds([5, 8, 9])]).duplicates, 1, 'without text: the same ids');
  const tokenizer = byteTokenizer();
  const eos = tokenizer.eosTokenId!;
  assert.equal(withEos(tokenizer, [5, 6]), [5, 6, eos], 'a sample that hit max_new_tokens gets EOS');
  assert.equal(withEos(tokenizer, [5, eos]), [5, eos]);
});

test.run();
