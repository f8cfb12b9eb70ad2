// Progress of a training loop: steps, throughput, ETA and one key metric. On a terminal one
// line is redrawn in place; elsewhere (CI logs, pipes) plain lines are printed now and then.
// The formatting functions are pure; Progress only decides when to write.

/** Where progress goes: process.stdout / process.stderr, or anything with write(). */
export interface ProgressStream {
  write(text: string): unknown;
  /** A terminal: redraw one line in place. Absent or false: print plain lines. */
  isTTY?: boolean;
  /** The terminal's width (default 80). */
  columns?: number;
}

/** What a progress line shows. Counts and times are since the display started (a resumed run starts at `start`). */
export interface ProgressSnapshot {
  label: string;
  step: number;
  total: number;
  /** Steps done since the display started. */
  steps: number;
  elapsedMs: number;
  /** Tokens processed since the display started; undefined: rates are in steps (it/s). */
  tokens?: number;
  metric?: { name: string; value: number };
}

/** 12 → "0:12", 75 → "1:15", 3723 → "1:02:03" (terminal), "12s", "1m15s", "1h02m" (logs), or "1 min 15 s" (a run's wall time in a report). */
export function formatDuration(seconds: number, style: 'clock' | 'words' | 'minutes'): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (style === 'clock') return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
  if (style === 'minutes') return `${Math.floor(s / 60)} min ${sec} s`;
  if (h > 0) return `${h}h${two(m)}m`;
  return m > 0 ? `${m}m${two(sec)}s` : `${sec}s`;
}

/** A rate with three significant figures at most: 0.25, 12.5, 640, 1.2k, 34.5k, 1.2M. */
export function formatRate(perSecond: number): string {
  const v = perSecond;
  if (!Number.isFinite(v) || v < 0) return '--';
  if (v < 10) return v.toFixed(2);
  if (v < 100) return v.toFixed(1);
  if (v < 999.5) return v.toFixed(0);
  if (v < 999.95e3) return `${(v / 1e3).toFixed(1)}k`;
  return `${(v / 1e6).toFixed(1)}M`;
}

/** A metric value: three significant figures (0.420, 12.3, -1.50), fixed above 100, exponent when tiny or huge. */
export function formatMetric(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const a = Math.abs(value);
  if (a === 0) return '0';
  if (a < 1e-3 || a >= 1e5) return value.toExponential(2);
  return a >= 100 ? value.toFixed(1) : value.toPrecision(3);
}

const rateOf = (s: ProgressSnapshot) => {
  const seconds = s.elapsedMs / 1000;
  if (s.steps <= 0 || seconds <= 0) return undefined;
  return s.tokens === undefined ? `${formatRate(s.steps / seconds)} it/s` : `${formatRate(s.tokens / seconds)} tok/s`;
};

/** Seconds left at the pace so far; undefined before the first step. */
function etaSeconds(s: ProgressSnapshot): number | undefined {
  if (s.steps <= 0) return undefined;
  return (Math.max(0, s.total - s.step) * s.elapsedMs) / s.steps / 1000;
}

const metricText = (s: ProgressSnapshot) => (s.metric ? `${s.metric.name} ${formatMetric(s.metric.value)}` : undefined);
const eta = (s: ProgressSnapshot, style: 'clock' | 'words') => `ETA ${formatDuration(etaSeconds(s) ?? NaN, style)}`;

/** A bar of `width` cells, filled in proportion to step/total. */
export function progressBar(step: number, total: number, width: number): string {
  const filled = total > 0 ? Math.min(width, Math.max(0, Math.round((width * step) / total))) : 0;
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

const MAX_BAR = 30;
const MIN_BAR = 8;

/** What a narrow terminal keeps, best first: the bar goes after the rate, the metric after the bar. */
const TERMINAL_LAYOUTS = [
  ['bar', 'rate', 'eta', 'metric'],
  ['bar', 'eta', 'metric'],
  ['eta', 'metric'],
  ['eta'],
  [],
] as const;

/**
 * The terminal line, at most `columns − 1` characters (a line filling the last column wraps on
 * some terminals, and a wrapped line cannot be redrawn): label, bar, count, rate, ETA, metric.
 * The bar takes the room left (8 to 30 cells); when even that does not fit, parts are dropped
 * (TERMINAL_LAYOUTS), and the label and count are cut as a last resort.
 */
export function progressLine(s: ProgressSnapshot, columns = 80): string {
  const room = Math.max(1, columns - 1);
  const text = { rate: rateOf(s), eta: eta(s, 'clock'), metric: metricText(s) };
  const head = `${s.label}  ${s.step}/${s.total}`;
  for (const layout of TERMINAL_LAYOUTS) {
    const has = (part: string) => (layout as readonly string[]).includes(part);
    const tail = (['rate', 'eta', 'metric'] as const).filter(has).map((k) => text[k]).filter((t) => t !== undefined);
    const line = (bar?: string) => [s.label, bar, `${s.step}/${s.total}`, ...tail].filter((p) => p !== undefined).join('  ');
    if (!has('bar')) {
      if (line().length <= room) return line();
      continue;
    }
    const width = Math.min(MAX_BAR, room - line().length - 2);
    if (width >= MIN_BAR) return line(progressBar(s.step, s.total, width));
  }
  return head.slice(0, room);
}

/** The plain line for logs: `ppo step 70/100 | 1.2k tok/s | ETA 12s | objective/scores 0.420`. */
export function progressLogLine(s: ProgressSnapshot): string {
  return [`${s.label} step ${s.step}/${s.total}`, rateOf(s), s.steps > 0 ? eta(s, 'words') : undefined, metricText(s)].filter((p) => p !== undefined).join(' | ');
}

/** The closing line: `ppo done: 100/100 steps in 1m23s | 1.2k tok/s | objective/scores 0.420`. */
export function progressSummary(s: ProgressSnapshot): string {
  const head = `${s.label} ${s.step >= s.total ? 'done' : 'stopped'}: ${s.step}/${s.total} steps in ${formatDuration(s.elapsedMs / 1000, 'words')}`;
  return [head, rateOf(s), metricText(s)].filter((p) => p !== undefined).join(' | ');
}

export interface ProgressOptions {
  /** The trainer's name, first on every line ("ppo"). */
  label: string;
  /** The last step. */
  total: number;
  stream: ProgressStream;
  /** The metric to show (a key of update()'s metrics), e.g. "objective/scores". */
  keyMetric?: string;
  /** The step the run starts from (a resumed run): rates and the ETA count from here. Default 0. */
  start?: number;
  /** Milliseconds since some origin (injectable for tests). Default performance.now(). */
  now?: () => number;
  /** Not a terminal: a line every this many steps (default total/20, at least 1). */
  every?: number;
  /** Not a terminal: also a line when this long has passed since the last (default 5000 ms). */
  intervalMs?: number;
  /** A terminal: redraw at most this often (default 100 ms); the last step always draws. */
  redrawMs?: number;
}

const CLEAR_LINE = '\r\x1b[2K';

/** A progress display for a training loop: update() after each step, finish() at the end. */
export class Progress {
  readonly #o: Required<Omit<ProgressOptions, 'keyMetric'>> & { keyMetric: string | undefined };
  readonly #tty: boolean;
  readonly #t0: number;
  #step: number;
  #tokens: number | undefined;
  #metric: { name: string; value: number } | undefined;
  #lastWrite: number;
  #lastLineStep: number;
  #drawn = false;
  #finished = false;

  constructor(options: ProgressOptions) {
    const start = options.start ?? 0;
    this.#o = {
      label: options.label,
      total: options.total,
      stream: options.stream,
      keyMetric: options.keyMetric,
      start,
      now: options.now ?? (() => performance.now()),
      every: Math.max(1, Math.round(options.every ?? Math.ceil(options.total / 20))),
      intervalMs: options.intervalMs ?? 5000,
      redrawMs: options.redrawMs ?? 100,
    };
    this.#tty = options.stream.isTTY === true;
    this.#t0 = this.#o.now();
    this.#step = start;
    this.#lastWrite = this.#t0;
    this.#lastLineStep = start;
  }

  /** The numbers the lines are made of, now. */
  snapshot(): ProgressSnapshot {
    const s: ProgressSnapshot = {
      label: this.#o.label,
      step: this.#step,
      total: this.#o.total,
      steps: this.#step - this.#o.start,
      elapsedMs: this.#o.now() - this.#t0,
    };
    if (this.#tokens !== undefined) s.tokens = this.#tokens;
    if (this.#metric) s.metric = this.#metric;
    return s;
  }

  /**
   * Step `step` is done: `tokens` it processed (for tok/s), and its metrics (the key metric
   * is shown; the latest value stays until a new one comes).
   */
  update(step: number, info: { tokens?: number; metrics?: Record<string, number> } = {}): void {
    this.#step = step;
    if (info.tokens !== undefined) this.#tokens = (this.#tokens ?? 0) + info.tokens;
    const key = this.#o.keyMetric;
    const value = key === undefined ? undefined : info.metrics?.[key];
    if (key !== undefined && typeof value === 'number') this.#metric = { name: key, value };
    const now = this.#o.now();
    const last = step >= this.#o.total;
    if (this.#tty) {
      if (last || now - this.#lastWrite >= this.#o.redrawMs || !this.#drawn) this.#draw(now);
    } else if (last || step - this.#lastLineStep >= this.#o.every || now - this.#lastWrite >= this.#o.intervalMs) {
      this.#o.stream.write(`${progressLogLine(this.snapshot())}\n`);
      this.#lastWrite = now;
      this.#lastLineStep = step;
    }
  }

  #draw(now: number): void {
    this.#o.stream.write(CLEAR_LINE + progressLine(this.snapshot(), this.#o.stream.columns ?? 80));
    this.#drawn = true;
    this.#lastWrite = now;
  }

  /** Prints a line of its own (a message, a warning) without breaking the redrawn bar. */
  print(line: string): void {
    if (this.#tty && this.#drawn) {
      this.#o.stream.write(`${CLEAR_LINE}${line}\n`);
      this.#draw(this.#o.now());
    } else {
      this.#o.stream.write(`${line}\n`);
    }
  }

  /** Writes the summary line (replacing the bar on a terminal). Later calls do nothing. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#o.stream.write(`${this.#tty && this.#drawn ? CLEAR_LINE : ''}${progressSummary(this.snapshot())}\n`);
  }
}
