// The comparison table of a multi-seed run: each method's test accuracy, mean ± standard
// error over the seeds (s.e. = sample standard deviation / √n; 0 for one seed).

export interface MethodSummary {
  method: string;
  /** Accuracy per seed, in the seeds' order (NaN: the method did not train in that seed). */
  accuracies: number[];
  mean: number;
  stderr: number;
}

export function summarise(method: string, accuracies: number[]): MethodSummary {
  const xs = accuracies.filter(Number.isFinite);
  const n = xs.length;
  const mean = n ? xs.reduce((a, b) => a + b, 0) / n : NaN;
  const variance = n > 1 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1) : 0;
  return { method, accuracies, mean, stderr: n ? Math.sqrt(variance / n) : NaN };
}

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');

/** A plain-text table: method, mean ± s.e., and the per-seed figures. */
export function formatTable(rows: readonly MethodSummary[], seeds: readonly number[]): string {
  const head = ['method', 'test accuracy (mean ± s.e.)', ...seeds.map((s) => `seed ${s}`)];
  const body = rows.map((r) => [r.method, `${pct(r.mean)} ± ${pct(r.stderr)}`, ...r.accuracies.map(pct)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
