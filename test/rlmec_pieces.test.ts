// RLMEC's host-side pieces on hand-made inputs: the token-id Levenshtein alignment and the
// imitation weights it gives, and the clipping of the token-level rewards.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { imitationWeights, levenshteinAlignment, tokenRewards } from 'webrlhf';
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

test.run();
