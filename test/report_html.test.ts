// report.html and its SVG charts. The tests read the drawn geometry back out of the markup
// (polyline points, bar rects, tick labels) and check it against the data, then check that
// every piece of caller or model text comes out escaped and the page stays script-free.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  barChartSvg, ConfigError, lineChartSvg, MAX_CHART_POINTS, reportHtml, tokensHtml,
  type ChartPoint, type Report,
} from 'webrlhf';
import { errorOf } from './harness/rejects.js';

const test = suite('report html');

const EVIL = '<script>alert(1)</script>';
const EVIL_ESCAPED = '&lt;script&gt;alert(1)&lt;/script&gt;';
const unescape = (s: string) =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
const near = (a: number, b: number, tol = 0.06) => Math.abs(a - b) <= tol;

interface Line { kind: string; series: string; stroke: string; points: [number, number][] }
interface Bounds { left: number; top: number; right: number; bottom: number }

function polylines(svg: string): Line[] {
  return [...svg.matchAll(/<polyline class="([^"]*)" data-series="([^"]*)" stroke="([^"]*)"[^>]*? points="([^"]*)"\/>/g)].map((m) => ({
    kind: m[1]!,
    series: unescape(m[2]!),
    stroke: m[3]!,
    points: m[4]!.split(' ').map((pair) => pair.split(',').map(Number) as [number, number]),
  }));
}

function bounds(svg: string): Bounds {
  const m = /<g class="plot-area" data-bounds="([^"]*)"/.exec(svg);
  assert.ok(m, 'the plot area carries its bounds');
  const [left, top, right, bottom] = m[1]!.split(',').map(Number) as [number, number, number, number];
  return { left, top, right, bottom };
}

const line = (...series: { name: string; points: ChartPoint[] }[]) =>
  lineChartSvg({ title: 'loss', xLabel: 'step', yLabel: 'value', series });
const pts = (ys: number[], x0 = 0, dx = 1) => ys.map((y, i) => ({ x: x0 + i * dx, y }));

test('a line chart maps x and y linearly onto the plot area: min at the bottom, max at the top, first and last x at the edges', () => {
  const ys = [2.5, 1, 4, 3.25, -0.5, 7, 6];
  const svg = line({ name: 'train', points: pts(ys, 10, 5) });
  assert.match(svg, /^<svg class="chart line-chart" [^>]*viewBox="0 0 520 300"[^>]*role="img"[^>]*aria-label="loss"/);
  assert.match(svg, /<title>loss<\/title>/);
  const b = bounds(svg);
  assert.ok(b.right - b.left > 300 && b.bottom - b.top > 150, `a plot area of a sensible size: ${JSON.stringify(b)}`);
  const [only, ...rest] = polylines(svg);
  assert.is(rest.length, 0);
  assert.is(only!.kind, 'series');
  assert.is(only!.series, 'train');
  const p = only!.points;
  assert.is(p.length, ys.length);
  for (let i = 1; i < p.length; i++) assert.ok(p[i]![0] > p[i - 1]![0], 'x increases');
  assert.ok(near(p[0]![0], b.left) && near(p[p.length - 1]![0], b.right), 'first and last x at the left and right edges');
  assert.ok(near(p[4]![1], b.bottom), `the minimum at the bottom: ${p[4]![1]} vs ${b.bottom}`);
  assert.ok(near(p[5]![1], b.top), `the maximum at the top: ${p[5]![1]} vs ${b.top}`);
  ys.forEach((y, i) => {
    const expected = b.bottom - ((y + 0.5) / 7.5) * (b.bottom - b.top);
    assert.ok(near(p[i]![1], expected), `y of point ${i}: ${p[i]![1]} vs ${expected}`);
  });
  assert.not.match(svg, /\d\.\d{3,}/, 'coordinates printed with at most two decimals');
});

test('tick labels are round values (1, 2 or 5 × 10^k apart) placed where the mapping puts them', () => {
  for (const [lo, hi] of [[0.13, 0.47], [-3, 1250], [0.0011, 0.0019], [100, 101]] as [number, number][]) {
    const svg = line({ name: 's', points: [{ x: lo, y: lo }, { x: hi, y: hi }] });
    const b = bounds(svg);
    const group = /<g class="ticks y">(.*?)<\/g>/.exec(svg)![1]!;
    const labels = [...group.matchAll(/<text x="[^"]*" y="([^"]*)"[^>]*>([^<]*)<\/text>/g)].map((m) => ({ y: Number(m[1]) - 3.5, value: Number(m[2]!.replace(/k$/, 'e3')) }));
    assert.ok(labels.length >= 2 && labels.length <= 12, `${labels.length} y ticks for [${lo}, ${hi}]`);
    const step = labels[1]!.value - labels[0]!.value;
    const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
    assert.ok([1, 2, 5].some((m) => near(mantissa, m, 1e-6)), `step ${step} for [${lo}, ${hi}]`);
    for (const t of labels) {
      assert.ok(t.value >= lo - 1e-9 && t.value <= hi + 1e-9, `tick ${t.value} inside [${lo}, ${hi}]`);
      const expected = b.bottom - ((t.value - lo) / (hi - lo)) * (b.bottom - b.top);
      assert.ok(near(t.y, expected, 0.11), `tick ${t.value} at ${t.y}, expected ${expected}`);
    }
  }
});

test('two series: two polylines in distinct colours and a legend naming both; one series has no legend', () => {
  const svg = line({ name: 'PPO', points: pts([1, 2, 3]) }, { name: 'RLP-UML', points: pts([3, 1, 2]) });
  const lines = polylines(svg);
  assert.equal(lines.map((l) => l.series), ['PPO', 'RLP-UML']);
  assert.is.not(lines[0]!.stroke, lines[1]!.stroke);
  const legend = /<g class="legend">(.*?)<\/g><\/g>/.exec(svg)?.[0] ?? '';
  assert.match(legend, new RegExp(`stroke="${lines[0]!.stroke}"[^>]*/><text[^>]*>PPO</text>`));
  assert.match(legend, new RegExp(`stroke="${lines[1]!.stroke}"[^>]*/><text[^>]*>RLP-UML</text>`));
  assert.not.match(line({ name: 'PPO', points: pts([1, 2, 3]) }), /class="legend"/);
  const many = line(...Array.from({ length: 10 }, (_, i) => ({ name: `s${i}`, points: pts([i, i + 1]) })));
  assert.is(new Set(polylines(many).map((l) => l.stroke)).size, 10, 'ten series, ten colours');
});

test('non-finite points are skipped and split the line into runs of the same series', () => {
  const svg = line({ name: 'reward', points: [
    { x: 0, y: 1 }, { x: 1, y: 2 }, { x: 2, y: Number.NaN }, { x: 3, y: 4 }, { x: Number.POSITIVE_INFINITY, y: 0 }, { x: 5, y: 0 }, { x: 6, y: 3 },
  ] });
  const lines = polylines(svg);
  assert.equal(lines.map((l) => [l.series, l.points.length]), [['reward', 2], ['reward', 1], ['reward', 2]]);
  const b = bounds(svg);
  assert.ok(near(lines[0]!.points[0]![0], b.left) && near(lines[2]!.points[1]![0], b.right), 'x range from the finite points');
  assert.ok(near(lines[2]!.points[0]![1], b.bottom) && near(lines[1]!.points[0]![1], b.top), 'y range from the finite points');
  assert.match(svg, /<circle class="dot"/, 'the lone point of the middle run gets a dot');
  assert.not.match(svg, /NaN|Infinity/);
});

test('a constant series draws a horizontal line inside the plot; a single point draws a dot', () => {
  for (const value of [0.5, 0, -3]) {
    const svg = line({ name: 'acc', points: pts([value, value, value, value]) });
    const b = bounds(svg);
    const [l] = polylines(svg);
    const ys = new Set(l!.points.map(([, y]) => y));
    assert.is(ys.size, 1, `one y for the constant ${value}`);
    const [y] = [...ys];
    assert.ok(y! > b.top && y! < b.bottom, `inside the plot: ${y}`);
    assert.not.match(svg, /NaN|Infinity/);
    assert.match(svg, /<g class="ticks y"><text/, 'the y axis still has ticks');
  }
  const single = line({ name: 'one', points: [{ x: 3, y: 7 }] });
  assert.is(polylines(single).length, 1);
  assert.match(single, /<circle class="dot" cx="[\d.]+" cy="[\d.]+"/);
  assert.not.match(single, /NaN|Infinity/);
});

test(`more than ${MAX_CHART_POINTS} points are reduced to bucket means`, () => {
  const n = 5000;
  const svg = line({ name: 'loss', points: Array.from({ length: n }, (_, i) => ({ x: i, y: i % 2 === 0 ? i : i + 2 })) });
  const [l] = polylines(svg);
  const p = l!.points;
  assert.ok(p.length <= MAX_CHART_POINTS && p.length >= MAX_CHART_POINTS / 2, `${p.length} points drawn`);
  for (let i = 1; i < p.length; i++) assert.ok(p[i]![0] > p[i - 1]![0] && p[i]![1] < p[i - 1]![1], 'the trend survives');
  assert.ok(svg.length < 30_000, `${svg.length} characters`);
  const short = line({ name: 'loss', points: pts(Array.from({ length: MAX_CHART_POINTS }, (_, i) => i)) });
  assert.is(polylines(short)[0]!.points.length, MAX_CHART_POINTS, 'up to the limit every point is drawn');
});

test('smoothing draws a moving average over the faint raw line; a smoothing outside [0, 1) is refused', () => {
  const noisy = pts(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 1 : -1)));
  const svg = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'kl', points: noisy }], smoothing: 0.9 });
  const lines = polylines(svg);
  assert.equal(lines.map((l) => l.kind), ['raw', 'series']);
  assert.match(svg, /<polyline class="raw"[^>]*stroke-opacity="0\.28"/);
  const spread = (l: Line) => Math.max(...l.points.slice(50).map(([, y]) => y)) - Math.min(...l.points.slice(50).map(([, y]) => y));
  assert.ok(spread(lines[1]!) < 0.2 * spread(lines[0]!), `smoothed spread ${spread(lines[1]!)} vs raw ${spread(lines[0]!)}`);
  for (const bad of [1, -0.1, Number.NaN]) {
    assert.throws(() => lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [], smoothing: bad }), errorOf(ConfigError, /smoothing/, /\[0, 1\)/));
  }
});

test('no data (no series, empty series, only non-finite points) draws the frame with "no data"', () => {
  for (const series of [[], [{ name: 'a', points: [] }], [{ name: 'a', points: [{ x: 0, y: Number.NaN }] }, { name: 'b', points: [] }]]) {
    const svg = lineChartSvg({ title: 'empty', xLabel: 'step', yLabel: 'loss', series });
    assert.match(svg, /^<svg class="chart line-chart"/);
    assert.match(svg, /<rect class="frame"/);
    assert.match(svg, />no data<\/text>/);
    assert.not.match(svg, /<polyline|NaN/);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
  }
  const bars = barChartSvg({ title: 'empty', yLabel: 'v', bars: [] });
  assert.match(bars, /^<svg class="chart bar-chart"[\s\S]*>no data<\/text>/);
});

interface Bar { label: string; value: number; y: number; height: number }
const rects = (svg: string): Bar[] =>
  [...svg.matchAll(/<rect class="bar" data-label="([^"]*)" data-value="([^"]*)" x="[^"]*" y="([^"]*)" width="[^"]*" height="([^"]*)"/g)]
    .map((m) => ({ label: unescape(m[1]!), value: Number(m[2]), y: Number(m[3]), height: Number(m[4]) }));
const baseline = (svg: string) => Number(/<line class="baseline"[^>]* y1="([^"]*)"/.exec(svg)![1]);

test('bar heights are proportional to the values, from a baseline at 0; negative bars go down from it', () => {
  const svg = barChartSvg({ title: 'win rate', yLabel: 'rate', bars: [{ label: 'SFT', value: 0.5 }, { label: 'PPO', value: 0.62 }, { label: 'RLP', value: 0.1 }] });
  const bars = rects(svg);
  assert.equal(bars.map((b) => [b.label, b.value]), [['SFT', 0.5], ['PPO', 0.62], ['RLP', 0.1]]);
  const zero = baseline(svg);
  const perUnit = bars[0]!.height / 0.5;
  for (const b of bars) {
    assert.ok(near(b.height, b.value * perUnit, 0.15), `${b.label}: height ${b.height} for ${b.value}`);
    assert.ok(near(b.y + b.height, zero, 0.1), `${b.label} stands on the baseline`);
  }
  assert.match(svg, /<text class="value"[^>]*>0\.62<\/text>/);
  assert.match(svg, /<text class="bar-label"[^>]*><title>PPO<\/title>PPO<\/text>/);

  const mixed = barChartSvg({ title: 'delta', yLabel: 'Δ', bars: [{ label: 'up', value: 0.3 }, { label: 'down', value: -0.15 }, { label: 'zero', value: 0 }] });
  const [up, down, flat] = rects(mixed);
  const z = baseline(mixed);
  assert.ok(near(up!.y + up!.height, z, 0.1) && up!.y < z, 'a positive bar rises from 0');
  assert.ok(near(down!.y, z, 0.1), 'a negative bar hangs from 0');
  assert.ok(near(down!.height * 2, up!.height, 0.2), `|−0.15| is half of 0.3: ${down!.height} vs ${up!.height}`);
  assert.is(flat!.height, 0);
  assert.match(mixed, /<text class="value"[^>]*>-0\.15<\/text>/);
  const allNegative = rects(barChartSvg({ title: 'n', yLabel: 'v', bars: [{ label: 'a', value: -2 }, { label: 'b', value: -1 }] }));
  assert.ok(near(allNegative[0]!.height, 2 * allNegative[1]!.height, 0.15) && allNegative[0]!.y === allNegative[1]!.y, 'all negative: both hang from 0');
});

test('error whiskers span value ± error on the bar scale; a non-finite value draws no bar but keeps its label', () => {
  const svg = barChartSvg({ title: 'w', yLabel: 'v', bars: [{ label: 'a', value: 0.6, error: 0.1 }, { label: 'b', value: 0.3 }, { label: 'c', value: Number.NaN, error: 0.2 }] });
  const bars = rects(svg);
  assert.equal(bars.map((b) => b.label), ['a', 'b']);
  const whiskers = [...svg.matchAll(/<line class="error" [^>]*y1="([^"]*)" y2="([^"]*)"/g)].map((m) => Number(m[2]) - Number(m[1]));
  assert.is(whiskers.length, 1);
  const perUnit = bars[0]!.height / 0.6;
  assert.ok(near(whiskers[0]!, 0.2 * perUnit, 0.2), `whisker ${whiskers[0]} for ± 0.1`);
  assert.match(svg, /<title>a: 0\.6 ± 0\.1<\/title>/);
  assert.match(svg, />n\/a<\/text>/);
  assert.match(svg, /<title>c<\/title>c<\/text>/);
  assert.not.match(svg, /NaN/);
});

test('chart text is escaped: title, axis labels, series names, bar labels', () => {
  const chart = lineChartSvg({ title: `${EVIL}"t"`, xLabel: `x${EVIL}`, yLabel: `y'${EVIL}`, series: [{ name: `a&b${EVIL}`, points: pts([1, 2]) }, { name: '"q"', points: pts([2, 1]) }] });
  const bars = barChartSvg({ title: EVIL, yLabel: EVIL, bars: [{ label: `${EVIL}"`, value: 1 }] });
  for (const svg of [chart, bars]) assert.not.match(svg, /<script|alert\(1\)<\//);
  assert.ok(chart.includes(`aria-label="${EVIL_ESCAPED}&quot;t&quot;"`));
  assert.ok(chart.includes(`<title>${EVIL_ESCAPED}&quot;t&quot;</title>`));
  assert.equal(polylines(chart).map((l) => l.series), [`a&b${EVIL}`, '"q"'], 'series names read back unchanged');
  assert.ok(chart.includes(`>y&#39;${EVIL_ESCAPED}</text>`));
  assert.equal(rects(bars).map((b) => b.label), [`${EVIL}"`]);
});

const fullReport = (): Report => ({
  title: `demo ${EVIL}`,
  notes: [`note ${EVIL}`],
  sections: [
    {
      id: 'rlp', title: `RLP ${EVIL}`, notes: ['three seeds'],
      tables: [{ caption: `win rates ${EVIL}`, columns: ['method', 'win rate', 'spread'], rows: [['PPO', 0.612345, '0.61 ± 0.02'], [EVIL, 2, 'n/a']] }],
      charts: [line({ name: 'a', points: pts([1, 2]) }), barChartSvg({ title: 'b', yLabel: 'v', bars: [{ label: 'x', value: 1 }] })],
      samples: { title: `samples ${EVIL}`, items: [{
        prompt: `Tell me\n  a story ${EVIL}`, reference: 'once\nupon',
        outputs: [{ label: 'SFT', text: `line one\nline two\u0007 ${EVIL}`, verdict: 'loss' }, { label: `PPO ${EVIL}`, text: 'ok', verdict: 'win' }, { label: 'RLP', text: 'same' }],
      }] },
    },
    { id: 'rlmec', title: 'RLMEC', embedded: { title: `tokens ${EVIL}`, html: tokensHtml({ title: `t "${EVIL}" & more`, entries: [] }) } },
  ],
});

test('a full report: every piece of text escaped, no script anywhere, samples keep their line breaks', () => {
  const html = reportHtml(fullReport());
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.not.match(html, /<script|<link|<img|\bsrc=|url\(|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg")/i);
  const visible = html.split(EVIL_ESCAPED).length - 1;
  // <title>, h1, note, toc, h2, caption, a cell, samples title, prompt, output text, output label, embedded title (h3 and iframe title).
  assert.is(visible, 13, 'every evil string shows as text');
  assert.match(html, /<pre class="prompt">Tell me\n {2}a story /);
  assert.match(html, /<pre>line one\nline two<span class="ctl">␇<\/span> /, 'newlines kept, control bytes made visible');
  assert.match(html, /<span class="badge bad">loss<\/span>/);
  assert.match(html, /<span class="badge good">win<\/span>/);
  assert.match(html, /<div class="label">RLP<\/div>/, 'no badge without a verdict');
  assert.match(html, /<pre class="reference">once\nupon<\/pre>/);
  assert.match(html, /pre \{[^}]*white-space: pre-wrap/);
  assert.is(html.split('<figure><svg class="chart ').length - 1, 2, 'both charts inside the grid');
  assert.match(html, /<div class="charts">/);
});

test('tables: numbers right-aligned and shortened, text left-aligned and escaped', () => {
  const html = reportHtml(fullReport());
  assert.match(html, /<table class="results">\n<caption>win rates /);
  assert.match(html, /<thead><tr><th>method<\/th><th class="num">win rate<\/th><th>spread<\/th><\/tr><\/thead>/);
  assert.match(html, /<tr><td>PPO<\/td><td class="num">0\.6123<\/td><td class="num">0\.61 ± 0\.02<\/td><\/tr>/);
  assert.ok(html.includes(`<tr><td>${EVIL_ESCAPED}</td><td class="num">2</td><td>n/a</td></tr>`));
});

test('the embedded page sits in a sandboxed iframe whose srcdoc reads back as the original page', () => {
  const report = fullReport();
  const html = reportHtml(report);
  const m = /<iframe class="embedded" title="([^"]*)" sandbox srcdoc="([^"]*)"><\/iframe>/.exec(html);
  assert.ok(m, 'one sandboxed iframe');
  assert.is(unescape(m[2]!), report.sections[1]!.embedded!.html);
  assert.is(unescape(m[1]!), `tokens ${EVIL}`);
  assert.match(html, /iframe\.embedded \{[^}]*height: 600px/);
});

test('section ids are sanitised, unique and match the table of contents', () => {
  const html = reportHtml({ title: 'ids', sections: [
    { id: 'rlmec results!', title: 'a' }, { id: '"><img src=x>', title: 'b' }, { id: '', title: 'c' }, { id: 'rlmec-results', title: 'd' }, { id: 'ok_1', title: 'e' },
    { id: 'x', title: 'f' }, { id: 'x-2', title: 'g' }, { id: 'x', title: 'h' },
  ] });
  const ids = [...html.matchAll(/<section class="report-section" id="([^"]*)">/g)].map((m) => m[1]);
  assert.equal(ids, ['rlmec-results', 'img-src-x', 'section-3', 'rlmec-results-2', 'ok_1', 'x', 'x-2', 'x-3']);
  const hrefs = [...html.matchAll(/<li><a href="#([^"]*)">/g)].map((m) => m[1]);
  assert.equal(hrefs, ids);
  assert.not.match(html, /<img/);
});

test('an empty report is still a whole page', () => {
  const html = reportHtml({ title: 'nothing yet', sections: [] });
  assert.ok(html.startsWith('<!DOCTYPE html>') && html.trimEnd().endsWith('</html>'));
  assert.match(html, /<h1>nothing yet<\/h1>/);
  assert.match(html, /Nothing to show/);
  assert.not.match(html, /<section|<nav/);
});

test('a chart that is not an SVG image from the chart functions is refused', () => {
  for (const chart of ['<div>hi</div>', `<svg>${EVIL}</svg>`, '<svg><foreignObject></foreignObject></svg>']) {
    assert.throws(() => reportHtml({ title: 't', sections: [{ id: 's', title: 'charts', charts: [chart] }] }), errorOf(ConfigError, /"charts"/, /lineChartSvg/));
  }
});

test.run();
