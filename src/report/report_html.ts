// report.html: the page `webrlhf demo` writes after its runs: result tables, training curves,
// sample outputs and embedded pages such as tokens.html. A pure string renderer (no DOM, no
// scripts, nothing fetched), so it runs in every runtime and the page opens from disk anywhere.

import { ConfigError } from '../errors.js';
import { escapeHtml, escapeVisible } from './html_escape.js';
import { htmlPage } from './html_page.js';

export interface ReportTable {
  caption: string;
  columns: readonly string[];
  /** Numbers are printed to four significant digits and right-aligned, like strings that read as numbers. */
  rows: readonly (readonly (string | number)[])[];
}
export interface ReportSampleOutput {
  label: string;
  text: string;
  verdict?: 'win' | 'draw' | 'loss' | 'right' | 'wrong';
}
export interface ReportSample {
  prompt: string;
  reference?: string;
  outputs: readonly ReportSampleOutput[];
}
export interface ReportSection {
  /** Anchor id; characters other than letters, digits, '-' and '_' become '-', and repeats get a suffix. */
  id: string;
  title: string;
  notes?: readonly string[];
  tables?: readonly ReportTable[];
  /** Prerendered SVG strings from lineChartSvg / barChartSvg, laid out in a responsive grid. */
  charts?: readonly string[];
  samples?: { title: string; items: readonly ReportSample[] };
  /** A whole HTML page shown inline in a sandboxed <iframe srcdoc> (e.g. tokensHtml's page), with a title above it. */
  embedded?: { title: string; html: string };
}
export interface Report {
  title: string;
  notes?: readonly string[];
  sections: readonly ReportSection[];
}

/** One self-contained HTML5 page (inline style and SVG, no scripts, no external resources). */
export function reportHtml(report: Report): string {
  const ids = sectionIds(report.sections);
  const notes = notesHtml(report.notes);
  const toc = report.sections.length === 0 ? '' : `<nav class="toc" aria-label="Contents">
<ol>
${report.sections.map((s, i) => `<li><a href="#${ids[i]}">${escapeHtml(s.title)}</a></li>`).join('\n')}
</ol>
</nav>`;
  const body = report.sections.length === 0
    ? '<p class="empty">Nothing to show: this report has no sections.</p>'
    : report.sections.map((s, i) => sectionHtml(s, ids[i]!)).join('\n');
  return htmlPage({ title: report.title, style: STYLE, header: `${notes}\n${toc}`, main: body });
}

/** Ids safe in an attribute and a URL fragment, unique within the page, never empty. */
function sectionIds(sections: readonly ReportSection[]): string[] {
  const used = new Set<string>();
  return sections.map((s, i) => {
    const base = s.id.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || `section-${i + 1}`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
    used.add(id);
    return id;
  });
}

function sectionHtml(section: ReportSection, id: string): string {
  const parts = [`<section class="report-section" id="${id}">`, `<h2>${escapeHtml(section.title)}</h2>`, notesHtml(section.notes)];
  for (const table of section.tables ?? []) parts.push(tableHtml(table));
  if (section.charts && section.charts.length > 0) {
    parts.push(`<div class="charts">\n${section.charts.map((svg) => `<figure>${checkedSvg(svg, section.title)}</figure>`).join('\n')}\n</div>`);
  }
  if (section.samples) parts.push(samplesHtml(section.samples));
  if (section.embedded) {
    const title = escapeHtml(section.embedded.title);
    // An empty sandbox: the embedded page may not run scripts, submit forms or reach this page.
    parts.push(`<h3>${title}</h3>`, `<iframe class="embedded" title="${title}" sandbox srcdoc="${escapeHtml(section.embedded.html)}"></iframe>`);
  }
  parts.push('</section>');
  return parts.filter(Boolean).join('\n');
}

/** Charts are inserted as markup, so only what the chart functions make is let in. */
function checkedSvg(svg: string, sectionTitle: string): string {
  if (!/^\s*<svg[\s>]/.test(svg) || /<script|<foreignObject/i.test(svg)) {
    throw new ConfigError(`reportHtml: a chart in section "${sectionTitle}" is not a plain SVG image (it must start with <svg and hold no script); pass the strings lineChartSvg and barChartSvg return.`);
  }
  return svg;
}

function notesHtml(notes: readonly string[] | undefined): string {
  return (notes ?? []).map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n');
}

function tableHtml(table: ReportTable): string {
  const width = Math.max(table.columns.length, ...table.rows.map((r) => r.length));
  const rows = table.rows.map((r) => Array.from({ length: width }, (_, i) => r[i] ?? ''));
  // A column whose every cell is a number is right-aligned, header included.
  const numericColumn = Array.from({ length: width }, (_, i) => rows.length > 0 && rows.every((r) => isNumeric(r[i]!)));
  const cell = (tag: 'th' | 'td', text: string, numeric: boolean) => `<${tag}${numeric ? ' class="num"' : ''}>${escapeHtml(text)}</${tag}>`;
  const head = table.columns.map((c, i) => cell('th', c, numericColumn[i]!)).join('');
  const body = rows.map((r) => `<tr>${r.map((v) => cell('td', formatCell(v), isNumeric(v))).join('')}</tr>`).join('\n');
  return `<div class="table-wrap"><table class="results">
<caption>${escapeHtml(table.caption)}</caption>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table></div>`;
}

// "0.62", "-3", "1.5e-3", "62.5%", "0.61 ± 0.04": text a reader compares digit by digit.
const NUMERIC_TEXT = /^[-+−]?(\d[\d,]*\.?\d*|\.\d+)(e[-+]?\d+)?%?(\s*±\s*[\d.]+(e[-+]?\d+)?%?)?$/i;

function isNumeric(v: string | number): boolean {
  return typeof v === 'number' || NUMERIC_TEXT.test(v.trim());
}

function formatCell(v: string | number): string {
  if (typeof v !== 'number') return String(v);
  return Number.isInteger(v) || !Number.isFinite(v) ? String(v) : String(Number(v.toPrecision(4)));
}

const VERDICT_CLASS: Record<string, string> = { win: 'good', right: 'good', draw: 'even', loss: 'bad', wrong: 'bad' };

function samplesHtml(samples: { title: string; items: readonly ReportSample[] }): string {
  const items = samples.items.map((sample, i) => {
    const parts = [`<article class="sample">`, `<div class="label">Prompt ${i + 1}</div>`, `<pre class="prompt">${escapeVisible(sample.prompt)}</pre>`];
    if (sample.reference !== undefined) parts.push(`<div class="label">Reference</div>`, `<pre class="reference">${escapeVisible(sample.reference)}</pre>`);
    parts.push(`<div class="outputs">`);
    for (const output of sample.outputs) {
      const verdict = output.verdict === undefined ? ''
        : ` <span class="badge ${VERDICT_CLASS[output.verdict] ?? 'even'}">${escapeHtml(String(output.verdict))}</span>`;
      parts.push(`<div class="output"><div class="label">${escapeHtml(output.label)}${verdict}</div><pre>${escapeVisible(output.text)}</pre></div>`);
    }
    parts.push(`</div>`, `</article>`);
    return parts.join('\n');
  });
  const empty = samples.items.length === 0 ? '<p class="empty">No samples.</p>' : '';
  return `<h3>${escapeHtml(samples.title)}</h3>\n${empty}${items.join('\n')}`;
}

// Added to the base style the demo's pages share (html_page.ts).
const STYLE = `
:root { --good: #15803d; --bad: #b91c1c; --even: #6b7280; --accent: #2563eb; }
@media (prefers-color-scheme: dark) {
  :root { --good: #4ade80; --bad: #f87171; --even: #9ca3af; --accent: #60a5fa; }
}
body { max-width: 72rem; }
a { color: var(--accent); }
h1 { font-size: 1.6rem; }
h2 { font-size: 1.3rem; margin: 0 0 .5rem; padding-bottom: .25rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.25rem 0 .5rem; }
.note { margin-bottom: .25rem; }
.toc { margin: 1rem 0; padding: .5rem 1rem; border: 1px solid var(--line); border-radius: 6px; font-size: .95rem; }
.toc ol { margin: .25rem 0; padding-left: 1.5rem; }
.report-section { margin: 2rem 0; }
.table-wrap { overflow-x: auto; }
table.results { border-collapse: collapse; margin: .75rem 0; font-size: .9rem; }
table.results caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: .35rem; }
table.results th, table.results td { padding: .3rem .75rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
table.results thead th { border-bottom: 2px solid var(--line); }
table.results .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 26rem), 1fr)); gap: 1rem; margin: 1rem 0; }
.charts figure { margin: 0; padding: .5rem; border: 1px solid var(--line); border-radius: 8px; }
.chart { display: block; width: 100%; height: auto; }
.sample { margin: .75rem 0; padding: .75rem 1rem; border: 1px solid var(--line); border-radius: 8px; }
.outputs { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 18rem), 1fr)); gap: .5rem 1rem; }
.label { margin-top: .5rem; font-weight: 600; font-size: .85rem; color: var(--muted); display: flex; align-items: center; gap: .5rem; }
pre { padding: .6rem .75rem; font-size: 13px; line-height: 1.55; }
.badge.good { background: var(--good); }
.badge.bad { background: var(--bad); }
.badge.even { background: var(--even); }
iframe.embedded { display: block; width: 100%; height: 600px; border: 1px solid var(--line); border-radius: 8px; background: var(--bg); }
`;
