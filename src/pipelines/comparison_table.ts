// The comparison table of a multi-seed run: each method's figure (test accuracy, win-rate),
// mean ± standard error over the seeds (s.e. = sample standard deviation / √n; 0 for one seed).

export interface MethodSummary {
  method: string;
  /** The figure per seed, in the seeds' order (NaN: the method did not train in that seed). */
  values: number[];
  mean: number;
  stderr: number;
}

/** A row of a results table: its key in each seed's result and its label in the table. */
export interface TableRow<K extends string = string> {
  readonly key: K;
  readonly label: string;
}

/** The keys of a list of table rows. */
export type RowKey<Rows extends readonly TableRow[]> = Rows[number]['key'];

/** A table's rows, in order, from their labels by key. */
export function tableRows<K extends string>(labels: Readonly<Record<K, string>>): readonly TableRow<K>[] {
  return (Object.entries(labels) as [K, string][]).map(([key, label]) => ({ key, label }));
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

/** A figure already in percent (a win-rate) with one decimal ('—' when missing). */
export const oneDecimal = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');

export interface TableFormat {
  /** What the figures are (default 'test accuracy'). */
  metric?: string;
  /** How one figure prints (default: a fraction as a percentage). */
  format?: (x: number) => string;
}

/**
 * The table's header and cells: method, mean ± s.e. and the per-seed figures; with one seed
 * just the figure (a standard error of one value would print a misleading ± 0).
 */
export function tableCells(rows: readonly MethodSummary[], seeds: readonly number[], o: TableFormat = {}): { head: string[]; body: string[][] } {
  const fmt = o.format ?? percent;
  const metric = o.metric ?? 'test accuracy';
  if (seeds.length === 1) return { head: ['method', `${metric}, seed ${seeds[0]}`], body: rows.map((r) => [r.method, fmt(r.mean)]) };
  return {
    head: ['method', `${metric} (mean ± s.e.)`, ...seeds.map((s) => `seed ${s}`)],
    body: rows.map((r) => [r.method, `${fmt(r.mean)} ± ${fmt(r.stderr)}`, ...r.values.map(fmt)]),
  };
}

/** A plain-text table of tableCells. */
export function formatTable(rows: readonly MethodSummary[], seeds: readonly number[], o: TableFormat = {}): string {
  const { head, body } = tableCells(rows, seeds, o);
  return formatRows(head, body);
}

/** A plain-text table: the first column left-aligned, the others right-aligned, a rule under the header. */
export function formatRows(head: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
