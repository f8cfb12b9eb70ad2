// Line and bar charts for report.html, as SVG strings: no DOM and no scripts, so they render
// the same in every runtime and in a page opened from disk. Text and axes use currentColor,
// so a chart takes the light or dark colour of the page around it.

import { ConfigError } from '../errors.js';
import { escapeHtml } from './html_escape.js';

export interface ChartPoint { x: number; y: number }
export interface ChartSeries { name: string; points: readonly ChartPoint[] }
export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  /**
   * 0 (none, the default) … <1: an exponential moving average drawn over the raw points
   * (the raw line is then drawn faint), for noisy per-step metrics.
   */
  smoothing?: number;
  width?: number;
  height?: number;
}
export interface ChartBar { label: string; value: number; error?: number }
export interface BarChartSpec {
  title: string;
  yLabel: string;
  bars: readonly ChartBar[];
  width?: number;
  height?: number;
}

/** Series longer than this are drawn as this many bucket means, so a 10,000-step curve stays a few kB. */
export const MAX_CHART_POINTS = 600;

// Ten hues that stay apart from each other on a light and on a dark page; more series reuse them.
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#8c8c8c'];
const DEFAULT_WIDTH = 520;
const DEFAULT_HEIGHT = 300;
const MARGIN = { left: 60, right: 16, top: 34, bottom: 42 };
// Data never touches the frame: its extremes sit this far inside it.
const INSET = 6;
const CHAR_WIDTH = 6.6; // about one character of the 11–12px sans-serif the charts use
const LEGEND_ROW = 16;

interface Box { left: number; top: number; right: number; bottom: number }
/** A linear map from [lo, hi] in data units to [from, to] in pixels. */
interface Scale { lo: number; hi: number; from: number; to: number }

/**
 * A line chart of one or more series. Points with a non-finite x or y are skipped, and they
 * split the line: the finite runs on either side become separate polylines of the same series,
 * so a gap in the data shows as a gap. A run of a single point is marked with a dot.
 * Points are drawn in the order given (not sorted by x).
 */
export function lineChartSvg(spec: LineChartSpec): string {
  const smoothing = spec.smoothing ?? 0;
  if (!(smoothing >= 0 && smoothing < 1)) {
    throw new ConfigError(`lineChartSvg("${spec.title}"): smoothing ${smoothing} is outside [0, 1); pass 0 for raw lines or a value such as 0.9 for a strong moving average.`);
  }
  const { width, height } = size(spec);
  const drawn = spec.series.map((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const smooth = smoothing > 0 ? movingAverage(s.points, smoothing) : undefined;
    const raw = finiteRuns(bucketMeans(s.points));
    return { name: s.name, color, line: smooth ? finiteRuns(bucketMeans(smooth)) : raw, raw: smooth ? raw : [] };
  });
  const legend = drawn.length > 1 ? legendLayout(drawn, width) : { rows: 0, items: [] };
  const legendHeight = legend.rows * LEGEND_ROW;
  const frame: Box = { left: MARGIN.left, top: MARGIN.top, right: width - MARGIN.right, bottom: height - MARGIN.bottom - legendHeight };
  const parts = [svgOpen('line-chart', spec.title, width, height)];

  const points = drawn.flatMap((d) => [...d.line, ...d.raw]).flat();
  if (points.length === 0) {
    parts.push(frameRect(frame), noData(frame), axisLabels(spec.xLabel, spec.yLabel, frame), '</svg>');
    return parts.join('\n');
  }
  const data: Box = { left: frame.left + INSET, top: frame.top + INSET, right: frame.right - INSET, bottom: frame.bottom - INSET };
  const [xLo, xHi] = extent(points.map((p) => p.x));
  const [yLo, yHi] = extent(points.map((p) => p.y));
  const xs: Scale = { lo: xLo, hi: xHi, from: data.left, to: data.right };
  const ys: Scale = { lo: yLo, hi: yHi, from: data.bottom, to: data.top };
  parts.push(axis('y', ys, frame), axis('x', xs, frame), frameRect(frame), axisLabels(spec.xLabel, spec.yLabel, frame));

  const bounds = [data.left, data.top, data.right, data.bottom].map(fmt).join(',');
  parts.push(`<g class="plot-area" data-bounds="${bounds}" fill="none" stroke-width="1.75" stroke-linejoin="round" stroke-linecap="round">`);
  const polyline = (kind: 'series' | 'raw', name: string, color: string, run: readonly ChartPoint[]) => {
    const coords = run.map((p) => `${fmt(at(xs, p.x))},${fmt(at(ys, p.y))}`);
    const faint = kind === 'raw' ? ' stroke-opacity="0.28" stroke-width="1"' : '';
    const line = `<polyline class="${kind}" data-series="${escapeHtml(name)}" stroke="${color}"${faint} points="${coords.join(' ')}"/>`;
    if (run.length > 1 || kind === 'raw') return line;
    // A one-point polyline draws nothing visible: its point gets a dot.
    return `${line}\n<circle class="dot" cx="${fmt(at(xs, run[0]!.x))}" cy="${fmt(at(ys, run[0]!.y))}" r="2.5" fill="${color}"/>`;
  };
  // Raw lines first, so every smoothed line lies on top of all of them.
  for (const d of drawn) for (const run of d.raw) parts.push(polyline('raw', d.name, d.color, run));
  for (const d of drawn) for (const run of d.line) parts.push(polyline('series', d.name, d.color, run));
  parts.push('</g>');
  if (legend.rows > 0) parts.push(legendSvg(legend.items, frame.bottom + MARGIN.bottom));
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * A bar chart with one bar per entry, grown from 0 (up for positive values, down for negative
 * ones), its value printed at its end and its label under the axis. `error` adds a whisker
 * value ± error. A non-finite value draws no bar, only its label and "n/a".
 */
export function barChartSvg(spec: BarChartSpec): string {
  const { width, height } = size(spec);
  const bars = spec.bars;
  const parts = [svgOpen('bar-chart', spec.title, width, height)];
  const slot = (width - MARGIN.left - MARGIN.right) / Math.max(bars.length, 1);
  // Labels wider than their slot are turned 35° and shortened to what the bottom margin holds.
  const longest = Math.max(0, ...bars.map((b) => b.label.length));
  const tilted = longest * CHAR_WIDTH > slot * 0.95;
  const maxChars = tilted ? Math.max(4, Math.floor((height * 0.3) / (CHAR_WIDTH * 0.6))) : longest;
  const bottom = tilted ? Math.min(longest, maxChars) * CHAR_WIDTH * 0.6 + 22 : 26;
  const frame: Box = { left: MARGIN.left, top: MARGIN.top, right: width - MARGIN.right, bottom: height - bottom };

  const finite = bars.filter((b) => Number.isFinite(b.value));
  if (finite.length === 0) {
    parts.push(frameRect(frame), noData(frame), axisLabels('', spec.yLabel, frame), '</svg>');
    return parts.join('\n');
  }
  const whisker = (b: ChartBar) => (Number.isFinite(b.error) ? Math.abs(b.error!) : 0);
  const ends = finite.flatMap((b) => [b.value - whisker(b), b.value + whisker(b)]);
  let lo = Math.min(0, ...ends);
  let hi = Math.max(0, ...ends);
  if (hi === lo) hi = 1;
  // The axis ends on round values; room is kept beyond them for the printed values.
  const step = niceStep(hi - lo, 5);
  lo = Math.floor(lo / step + 1e-9) * step;
  hi = Math.ceil(hi / step - 1e-9) * step;
  const ys: Scale = { lo, hi, from: frame.bottom - (lo < 0 ? 16 : 0), to: frame.top + 16 };
  const zero = at(ys, 0);
  parts.push(axis('y', ys, frame), axisLabels('', spec.yLabel, frame));
  parts.push(`<line class="baseline" x1="${fmt(frame.left)}" x2="${fmt(frame.right)}" y1="${fmt(zero)}" y2="${fmt(zero)}" stroke="currentColor" stroke-opacity="0.6"/>`);

  bars.forEach((b, i) => {
    const cx = frame.left + slot * (i + 0.5);
    const barWidth = Math.min(slot * 0.62, 90);
    const color = PALETTE[i % PALETTE.length]!;
    const label = escapeHtml(b.label);
    parts.push('<g class="bar-group">');
    if (Number.isFinite(b.value)) {
      const end = at(ys, b.value);
      const err = whisker(b);
      parts.push(`<rect class="bar" data-label="${label}" data-value="${b.value}" x="${fmt(cx - barWidth / 2)}" y="${fmt(Math.min(end, zero))}" width="${fmt(barWidth)}" height="${fmt(Math.abs(end - zero))}" fill="${color}"><title>${label}: ${formatValue(b.value)}${err > 0 ? ` ± ${formatValue(err)}` : ''}</title></rect>`);
      if (err > 0) {
        const [top, low] = [at(ys, b.value + err), at(ys, b.value - err)];
        const cap = (y: number) => `<line class="error-cap" x1="${fmt(cx - 5)}" x2="${fmt(cx + 5)}" y1="${fmt(y)}" y2="${fmt(y)}"/>`;
        parts.push(`<g stroke="currentColor" stroke-width="1.25"><line class="error" x1="${fmt(cx)}" x2="${fmt(cx)}" y1="${fmt(top)}" y2="${fmt(low)}"/>${cap(top)}${cap(low)}</g>`);
      }
      // The value sits beyond the bar's end, or beyond its whisker when that reaches further.
      const tip = b.value >= 0 ? Math.min(end, at(ys, b.value + err)) - 4 : Math.max(end, at(ys, b.value - err)) + 14;
      parts.push(`<text class="value" x="${fmt(cx)}" y="${fmt(tip)}" text-anchor="middle">${escapeHtml(formatValue(b.value))}</text>`);
    } else {
      parts.push(`<text class="value" x="${fmt(cx)}" y="${fmt(zero - 4)}" text-anchor="middle" opacity="0.6">n/a</text>`);
    }
    const shown = b.label.length > maxChars ? `${escapeHtml(b.label.slice(0, maxChars - 1))}…` : label;
    const labelAt = tilted
      ? `x="${fmt(cx)}" y="${fmt(frame.bottom + 14)}" text-anchor="end" transform="rotate(-35 ${fmt(cx)} ${fmt(frame.bottom + 14)})"`
      : `x="${fmt(cx)}" y="${fmt(frame.bottom + 17)}" text-anchor="middle"`;
    parts.push(`<text class="bar-label" ${labelAt}><title>${label}</title>${shown}</text>`, '</g>');
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function size(spec: { width?: number; height?: number }): { width: number; height: number } {
  // Anything smaller than this has no room for a plot between the margins.
  const pick = (v: number | undefined, fallback: number, min: number) => (v !== undefined && Number.isFinite(v) ? Math.max(v, min) : fallback);
  return { width: pick(spec.width, DEFAULT_WIDTH, 200), height: pick(spec.height, DEFAULT_HEIGHT, 140) };
}

function svgOpen(kind: string, title: string, width: number, height: number): string {
  const t = escapeHtml(title);
  return `<svg class="chart ${kind}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${t}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="11" fill="currentColor">
<title>${t}</title>
<text class="chart-title" x="${fmt(width / 2)}" y="20" text-anchor="middle" font-size="13" font-weight="600">${t}</text>`;
}

function frameRect(b: Box): string {
  return `<rect class="frame" x="${fmt(b.left)}" y="${fmt(b.top)}" width="${fmt(b.right - b.left)}" height="${fmt(b.bottom - b.top)}" fill="none" stroke="currentColor" stroke-opacity="0.35"/>`;
}

function noData(b: Box): string {
  return `<text class="no-data" x="${fmt((b.left + b.right) / 2)}" y="${fmt((b.top + b.bottom) / 2)}" text-anchor="middle" font-size="13" opacity="0.6">no data</text>`;
}

function axisLabels(xLabel: string, yLabel: string, frame: Box): string {
  const out: string[] = [];
  if (xLabel) out.push(`<text class="axis-label" x="${fmt((frame.left + frame.right) / 2)}" y="${fmt(frame.bottom + 34)}" text-anchor="middle" font-size="12">${escapeHtml(xLabel)}</text>`);
  const y = fmt((frame.top + frame.bottom) / 2);
  if (yLabel) out.push(`<text class="axis-label" x="14" y="${y}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${y})">${escapeHtml(yLabel)}</text>`);
  return out.join('\n');
}

/** Grid lines at round values across the frame, labelled left of it (y) or under it (x). */
function axis(dir: 'x' | 'y', s: Scale, frame: Box): string {
  const pixelsPerTick = dir === 'x' ? 80 : 45;
  const values = ticks(s.lo, s.hi, Math.max(2, Math.round(Math.abs(s.to - s.from) / pixelsPerTick)));
  const step = values.length > 1 ? values[1]! - values[0]! : niceStep(s.hi - s.lo, 1);
  const lines = values.map((v) => {
    const p = fmt(at(s, v));
    return dir === 'y'
      ? `<line x1="${fmt(frame.left)}" x2="${fmt(frame.right)}" y1="${p}" y2="${p}"/>`
      : `<line x1="${p}" x2="${p}" y1="${fmt(frame.top)}" y2="${fmt(frame.bottom)}"/>`;
  });
  const labels = values.map((v) => {
    const where = dir === 'y'
      ? `x="${fmt(frame.left - 6)}" y="${fmt(at(s, v) + 3.5)}" text-anchor="end"`
      : `x="${fmt(at(s, v))}" y="${fmt(frame.bottom + 15)}" text-anchor="middle"`;
    return `<text ${where}>${formatTick(v, step)}</text>`;
  });
  return `<g class="grid ${dir}" stroke="currentColor" stroke-opacity="0.12">${lines.join('')}</g>\n<g class="ticks ${dir}">${labels.join('')}</g>`;
}

interface LegendItem { name: string; color: string; x: number; row: number }

/** Legend entries laid out left to right, wrapping onto more rows when the names do not fit. */
function legendLayout(series: readonly { name: string; color: string }[], width: number): { rows: number; items: LegendItem[] } {
  const items: LegendItem[] = [];
  let x = MARGIN.left;
  let row = 0;
  for (const s of series) {
    const w = 26 + s.name.length * CHAR_WIDTH;
    if (x > MARGIN.left && x + w > width - MARGIN.right) {
      row++;
      x = MARGIN.left;
    }
    items.push({ name: s.name, color: s.color, x, row });
    x += w + 14;
  }
  return { rows: row + 1, items };
}

function legendSvg(items: readonly LegendItem[], top: number): string {
  const entries = items.map((it) => {
    const y = top + it.row * LEGEND_ROW + 8;
    return `<g class="legend-item"><line x1="${fmt(it.x)}" x2="${fmt(it.x + 18)}" y1="${fmt(y)}" y2="${fmt(y)}" stroke="${it.color}" stroke-width="3"/><text x="${fmt(it.x + 24)}" y="${fmt(y + 4)}">${escapeHtml(it.name)}</text></g>`;
  });
  return `<g class="legend">${entries.join('')}</g>`;
}

const isFinitePoint = (p: ChartPoint) => Number.isFinite(p.x) && Number.isFinite(p.y);

/** Exponential moving average over the finite points; non-finite ones stay (as gaps) and do not reset it. */
function movingAverage(points: readonly ChartPoint[], weight: number): ChartPoint[] {
  let average: number | undefined;
  return points.map((p) => {
    if (!isFinitePoint(p)) return { x: p.x, y: Number.NaN };
    average = average === undefined ? p.y : weight * average + (1 - weight) * p.y;
    return { x: p.x, y: average };
  });
}

/**
 * At most MAX_CHART_POINTS points: consecutive buckets of equal size replaced by the mean of
 * their finite points. A bucket with none stays a gap; a gap inside a bucket is averaged away.
 */
function bucketMeans(points: readonly ChartPoint[]): readonly ChartPoint[] {
  if (points.length <= MAX_CHART_POINTS) return points;
  const size = Math.ceil(points.length / MAX_CHART_POINTS);
  const out: ChartPoint[] = [];
  for (let i = 0; i < points.length; i += size) {
    const bucket = points.slice(i, i + size).filter(isFinitePoint);
    if (bucket.length === 0) out.push({ x: Number.NaN, y: Number.NaN });
    else out.push({ x: mean(bucket.map((p) => p.x)), y: mean(bucket.map((p) => p.y)) });
  }
  return out;
}

const mean = (v: readonly number[]) => v.reduce((s, x) => s + x, 0) / v.length;

/** The runs of consecutive finite points. */
function finiteRuns(points: readonly ChartPoint[]): ChartPoint[][] {
  const runs: ChartPoint[][] = [];
  let run: ChartPoint[] = [];
  for (const p of points) {
    if (isFinitePoint(p)) run.push(p);
    else if (run.length > 0) {
      runs.push(run);
      run = [];
    }
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** [min, max] of the values, widened around a single value so a constant series still has a scale. */
function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi > lo) return [lo, hi];
  const half = Math.abs(lo) * 0.1 || 1;
  return [lo - half, hi + half];
}

const at = (s: Scale, v: number) => s.from + ((v - s.lo) / (s.hi - s.lo)) * (s.to - s.from);

/** The step of 1, 2 or 5 × 10^k that cuts `span` into about `count` pieces. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  return (norm < 1.5 ? 1 : norm < 3.5 ? 2 : norm < 7.5 ? 5 : 10) * magnitude;
}

/** The round values in [lo, hi], about `count` of them. */
function ticks(lo: number, hi: number, count: number): number[] {
  const step = niceStep(hi - lo, count);
  const first = Math.ceil(lo / step - 1e-9);
  const out: number[] = [];
  // Multiples of the step rather than a running sum, so 0.1 + 0.2 never prints as 0.30000000000000004.
  for (let k = first; k * step <= hi + step * 1e-9 && out.length < 50; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

/** A tick value with as many decimals as its step needs; large round values shortened to k / M. */
function formatTick(v: number, step: number): string {
  if (Math.abs(v) >= 1e6 && step >= 1e5) return `${Number((v / 1e6).toPrecision(6))}M`;
  if (Math.abs(v) >= 1e4 && step >= 1e3) return `${Number((v / 1e3).toPrecision(6))}k`;
  const decimals = Math.min(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)), 10);
  return (v === 0 ? 0 : v).toFixed(decimals);
}

/** A bar's value: integers as they are, others to three significant digits. */
function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3)));
}

/** A coordinate with at most one decimal. */
function fmt(v: number): string {
  return String(Math.round(v * 10) / 10);
}
