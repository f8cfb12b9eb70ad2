// Levenshtein alignment of two id sequences (tokens, character codes): the edit distance and
// which target items a minimal edit changed. RLMEC's imitation weights mark the tokens of a
// rewrite it changed; the instruction task scores how close two answers are.

export interface Alignment {
  /** Insertions + deletions + substitutions turning `source` into `target`. */
  distance: number;
  /** Per target token: true when the alignment inserted or substituted it, false when it matched. */
  edited: boolean[];
}

/**
 * The edit-distance table, then a backtrace from the end that prefers a match, then a
 * substitution, then a deletion, then an insertion: among the minimal alignments it marks
 * as few target tokens edited as it can, and prefers edits late in the sequence for ties.
 */
export function levenshteinAlignment(source: ArrayLike<number>, target: ArrayLike<number>): Alignment {
  const n = source.length;
  const m = target.length;
  const w = m + 1;
  const d = new Uint32Array((n + 1) * w);
  for (let i = 0; i <= n; i++) d[i * w] = i;
  for (let j = 0; j <= m; j++) d[j] = j;
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      const same = source[i - 1] === target[j - 1] ? 0 : 1;
      d[i * w + j] = Math.min(d[(i - 1) * w + j - 1]! + same, d[(i - 1) * w + j]! + 1, d[i * w + j - 1]! + 1);
    }
  }
  const edited = new Array<boolean>(m).fill(true);
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    const here = d[i * w + j]!;
    if (i > 0 && j > 0 && source[i - 1] === target[j - 1] && here === d[(i - 1) * w + j - 1]) {
      edited[j - 1] = false;
      i--;
      j--;
    } else if (i > 0 && j > 0 && here === d[(i - 1) * w + j - 1]! + 1) {
      i--;
      j--; // substituted: target j − 1 stays edited
    } else if (i > 0 && here === d[(i - 1) * w + j]! + 1) {
      i--; // deleted from the source
    } else {
      j--; // inserted into the target: stays edited
    }
  }
  return { distance: d[n * w + m]!, edited };
}
