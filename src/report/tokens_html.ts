// tokens.html: each token of a policy's solution coloured by its RLMEC reward
// (ALGORITHMS.md §5), so a person sees where the generative reward model put the blame.
// A pure string renderer: no DOM, no scripts, nothing fetched, so it runs in every runtime
// and the page opens from disk anywhere.

import { escapeHtml, escapeVisible } from './html_escape.js';
import { htmlPage } from './html_page.js';

export interface TokenRewardEntry {
  /** The problem text (shown above the solution). */
  question: string;
  /** Whether the solution's final answer is right. */
  correct: boolean;
  /** The policy's tokens, decoded one by one (a token may be "\n", " ", or part of a UTF-8 character), with their rewards. */
  tokens: { text: string; reward: number }[];
  /** The GRM's (or teacher's) rewrite of the solution, shown under it when given. */
  rewrite?: string;
  /** The reference answer, shown when given. */
  answer?: string | number;
}

export interface TokenRewardReport {
  title: string;
  /** Lines under the title (model, backend, seed, ...). */
  notes?: string[];
  entries: TokenRewardEntry[];
}

// The ends of the spec's two reward ranges: full colour there, fading to none at 0.
const ERRONEOUS_FLOOR = -0.1;
const CORRECT_CEILING = 0.5;

/** One self-contained HTML5 page (inline style, no scripts, no external resources). */
export function tokensHtml(report: TokenRewardReport): string {
  const notes = (report.notes ?? []).map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n');
  const body = report.entries.length === 0
    ? '<p class="empty">Nothing to show: this report has no entries.</p>'
    : report.entries.map((e, i) => entryHtml(e, i)).join('\n');
  return htmlPage({ title: report.title, style: STYLE, header: `${notes}\n${LEGEND}`, main: body });
}

function entryHtml(entry: TokenRewardEntry, index: number): string {
  const verdict = entry.correct ? '<span class="badge ok">correct</span>' : '<span class="badge wrong">wrong</span>';
  const parts = [
    `<article>`,
    `<h2>Sample ${index + 1} ${verdict}</h2>`,
    `<div class="label">Question</div>`,
    `<div class="text">${escapeHtml(entry.question)}</div>`,
    `<div class="label">Solution <span class="stats">${escapeHtml(rewardStats(entry.tokens))}</span></div>`,
    `<pre class="solution">${entry.tokens.map(tokenHtml).join('')}</pre>`,
  ];
  if (entry.rewrite !== undefined) {
    parts.push(`<div class="label">Rewrite</div>`, `<pre class="rewrite">${escapeHtml(entry.rewrite)}</pre>`);
  }
  if (entry.answer !== undefined) {
    parts.push(`<div class="label">Reference answer <span class="answer">${escapeHtml(String(entry.answer))}</span></div>`);
  }
  parts.push(`</article>`);
  return parts.join('\n');
}

function tokenHtml(token: { text: string; reward: number }): string {
  const r = token.reward;
  // Escaped although it is a number: untyped callers may pass anything as a reward.
  const title = escapeHtml(`r = ${formatReward(r)}`);
  const text = visibleText(token.text);
  // Non-finite rewards get no colour (there is no honest one) but an outline, so they stand out.
  if (!Number.isFinite(r)) return `<span class="tok bad" title="${title}">${text}</span>`;
  if (r === 0) return `<span class="tok" title="${title}">${text}</span>`;
  const [kind, full] = r < 0 ? ['neg', ERRONEOUS_FLOOR] : ['pos', CORRECT_CEILING];
  return `<span class="tok ${kind}" style="--a:${formatAlpha(Math.min(r / full, 1))}" title="${title}">${text}</span>`;
}

/** The token's text, escaped, with line breaks and control bytes made visible so their colour shows. */
function visibleText(text: string): string {
  let out = '';
  for (const piece of text.split(/(\r\n|\r|\n)/)) {
    // A line break keeps its effect (pre-wrap) after a ↵ the colour can sit on; copying skips the ↵.
    if (piece === '\n' || piece === '\r' || piece === '\r\n') out += '<span class="nl" aria-hidden="true">↵</span>\n';
    else out += escapeVisible(piece);
  }
  return out;
}

/** Four decimals as in `r = -0.0731`; tiny non-zero rewards in exponent form so they never read as 0. */
function formatReward(r: number): string {
  if (!Number.isFinite(r)) return String(r);
  if (r !== 0 && Math.abs(r) < 5e-5) return r.toExponential(2);
  return r.toFixed(4);
}

function formatAlpha(a: number): string {
  return String(Number(a.toFixed(3)));
}

function rewardStats(tokens: readonly { reward: number }[]): string {
  const finite = tokens.filter((t) => Number.isFinite(t.reward));
  const sum = finite.reduce((s, t) => s + t.reward, 0);
  const parts = [`${tokens.length} token${tokens.length === 1 ? '' : 's'}`, `Σ r = ${formatReward(sum)}`];
  if (finite.length < tokens.length) parts.push(`${tokens.length - finite.length} non-finite`);
  return parts.join(' · ');
}

const swatch = (kind: 'neg' | 'pos', r: number, full: number) =>
  `<span class="sw ${kind}" style="--a:${formatAlpha(r / full)}" title="r = ${formatReward(r)}">${formatReward(r)}</span>`;

const LEGEND = `<section class="legend">
<p><strong>Token rewards</strong> (RLMEC, from the generative reward model; hover a token for its exact value):</p>
<ul>
<li>Wrong solutions get r<sub>t</sub> ∈ [−0.1, 0]: <span class="sw neg">red</span>, opacity |r|/0.1 —
${[-0.1, -0.075, -0.05, -0.025].map((r) => swatch('neg', r, ERRONEOUS_FLOOR)).join(' ')}</li>
<li>Correct solutions get r<sub>t</sub> ∈ [0, 0.5]: <span class="sw pos">green</span>, opacity r/0.5 —
${[0.125, 0.25, 0.375, 0.5].map((r) => swatch('pos', r, CORRECT_CEILING)).join(' ')}</li>
<li>r = 0: no colour. Rewards outside these ranges get full colour; non-finite ones get
<span class="sw bad">an outline</span> and no colour.</li>
<li><span class="nl">↵</span> marks a newline token; <span class="ctl">␀</span>… stand for control bytes.</li>
</ul>
</section>`;

// Colours are picked per scheme so black text on the light page and light text on the dark
// page keep their contrast even at full opacity.
const STYLE = `
:root { --neg: 239 68 68; --pos: 34 197 94; --ok: #15803d; --wrong: #b91c1c; }
@media (prefers-color-scheme: dark) {
  :root { --neg: 220 38 38; --pos: 22 163 74; --ok: #4ade80; --wrong: #f87171; }
}
h2 { font-size: 1.1rem; margin: 0 0 .5rem; display: flex; align-items: center; gap: .5rem; }
.legend { margin: 1rem 0; padding: .5rem 1rem; border: 1px solid var(--line); border-radius: 6px; font-size: .9rem; }
.legend ul { margin: .25rem 0; padding-left: 1.25rem; }
article { margin: 1.25rem 0; padding: 1rem; border: 1px solid var(--line); border-radius: 8px; }
.label { margin-top: .75rem; font-weight: 600; font-size: .9rem; color: var(--muted); }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.stats, .answer { font-weight: normal; color: var(--fg); }
.stats { font-size: .85rem; color: var(--muted); margin-left: .5rem; }
.badge.ok { background: var(--ok); }
.badge.wrong { background: var(--wrong); }
.tok { border-radius: 2px; }
.tok.neg, .tok.pos { box-shadow: inset -1px 0 0 rgb(128 128 128 / .35); } /* token edges within a coloured run */
.tok:empty { display: inline-block; min-width: .35em; height: 1em; vertical-align: middle; }
.neg { background-color: rgb(var(--neg) / var(--a, 1)); }
.pos { background-color: rgb(var(--pos) / var(--a, 1)); }
.bad { outline: 1px dashed var(--muted); outline-offset: -1px; }
.sw { padding: 0 .3em; border-radius: 3px; font: 13px ui-monospace, monospace; }
.nl { color: var(--muted); user-select: none; }
`;
