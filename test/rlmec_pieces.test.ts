// RLMEC's host-side pieces on hand-made inputs: the token-id Levenshtein alignment and the
// imitation weights it gives, and the clipping of the token-level rewards.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { REWRITE_PREFIX, grmExamples, imitationWeights, levenshteinAlignment, locatePrompt, rewritePrompt, tokenRewards, type GRMSample } from 'webrlhf';
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

test.run();
