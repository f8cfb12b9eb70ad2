// The comparison table of a multi-seed run: each method's figure (test accuracy, win-rate),
// mean ± standard error over the seeds (s.e. = sample standard deviation / √n; 0 for one seed).

export interface MethodSummary {
  method: string;
  /** The figure per seed, in the seeds' order (NaN: the method did not train in that seed). */
  values: number[];
  mean: number;
  stderr: number;
}

export function summarise(method: string, values: number[]): MethodSummary {
  const xs = values.filter(Number.isFinite);
  const n = xs.length;
  const mean = n ? xs.reduce((a, b) => a + b, 0) / n : NaN;
  const variance = n > 1 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1) : 0;
  return { method, values, mean, stderr: n ? Math.sqrt(variance / n) : NaN };
}

/** A fraction as a percentage with one decimal ('—' when missing). */
export const percent = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');

export interface TableFormat {
  /** What the figures are (default 'test accuracy'). */
  metric?: string;
  /** How one figure prints (default: a fraction as a percentage). */
  format?: (x: number) => string;
}

/** A plain-text table: method, mean ± s.e., and the per-seed figures. */
export function formatTable(rows: readonly MethodSummary[], seeds: readonly number[], o: TableFormat = {}): string {
  const fmt = o.format ?? percent;
  const head = ['method', `${o.metric ?? 'test accuracy'} (mean ± s.e.)`, ...seeds.map((s) => `seed ${s}`)];
  const body = rows.map((r) => [r.method, `${fmt(r.mean)} ± ${fmt(r.stderr)}`, ...r.values.map(fmt)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
