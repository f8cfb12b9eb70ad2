// "Did you mean ...?" for misspelt config keys and flags.

/** Edit distance counting an adjacent swap as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/**
 * The candidate `name` most likely meant: the nearest by edit distance when it is close
 * (a third of the name's length, at least 2 edits), else the first candidate that contains
 * the name as whole words ("batch_size" → "per_device_train_batch_size").
 * Case is ignored; undefined when nothing is close.
 */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const wanted = name.toLowerCase();
  const list = [...candidates];
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(wanted.length / 3));
  for (const c of list) {
    const d = editDistance(wanted, c.toLowerCase());
    if (d < bestDistance || (d === bestDistance && best === undefined)) {
      best = c;
      bestDistance = d;
    }
  }
  if (best !== undefined) return best;
  const word = wanted.replace(/[^a-z0-9_]/g, '');
  if (word.length < 3) return undefined;
  const words = new RegExp(`(^|_)${word}(_|$)`);
  return list.find((c) => words.test(c.toLowerCase()));
}
