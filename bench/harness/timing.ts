// Timing helpers shared by the benchmarks. Timings belong here, never in pass/fail tests.

export interface Timing {
  /** Seconds per iteration (median of the timed rounds). */
  seconds: number;
  iterations: number;
}

/**
 * Runs `step` (which must wait for its own completion) after `warmup` untimed calls, then in
 * rounds of `batch` iterations, at least `minRounds`, until `minSeconds` have passed; reports
 * the median round.
 */
export async function measure(step: () => Promise<void>, { warmup = 2, minSeconds = 1.5, batch = 1, minRounds = 3, maxRounds = 50 } = {}): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await step();
  const rounds: number[] = [];
  const start = performance.now();
  while (rounds.length < minRounds || ((performance.now() - start) / 1000 < minSeconds && rounds.length < maxRounds)) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) await step();
    rounds.push((performance.now() - t0) / 1000 / batch);
  }
  rounds.sort((a, b) => a - b);
  return { seconds: rounds[Math.floor(rounds.length / 2)]!, iterations: rounds.length * batch };
}

/** Prints an aligned table; the first column is left-aligned, the rest right-aligned. */
export function printTable(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ');
  console.log(line(cells[0]!));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells.slice(1)) console.log(line(r));
}

export const fixed = (x: number | undefined, digits = 2): string => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));

export const mib = (bytes: number | undefined, digits = 0): string => (bytes === undefined ? '—' : (bytes / 2 ** 20).toFixed(digits));
