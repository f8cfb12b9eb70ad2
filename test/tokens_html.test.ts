// tokens.html: the page that colours each solution token by its RLMEC reward. The tests read
// the token spans back out of the HTML and check order, escaping, colour, opacity and titles.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tokensHtml, type TokenRewardEntry } from 'webrlhf';

const test = suite('tokens html');

interface TokenSpan { classes: string[]; alpha: number | undefined; title: string; html: string; text: string }

const unescape = (s: string) =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** The token spans of every solution block, in document order, read with a depth count so nested markers stay inside. */
function tokenSpans(html: string): TokenSpan[][] {
  const blocks = [...html.matchAll(/<pre class="solution">([\s\S]*?)<\/pre>/g)].map((m) => m[1]!);
  return blocks.map((block) => {
    const spans: TokenSpan[] = [];
    const tag = /<(\/?)span\b([^>]*)>/g;
    let open: { attrs: string; start: number } | undefined;
    let depth = 0;
    let lastEnd = 0;
    for (let m = tag.exec(block); m; m = tag.exec(block)) {
      if (m[1] === '') {
        if (depth === 0) {
          // Every span at the top level of the block is a token: no stray text between them.
          assert.is(block.slice(lastEnd, m.index), '', 'text outside token spans');
          open = { attrs: m[2]!, start: m.index + m[0].length };
        }
        depth++;
        continue;
      }
      depth--;
      if (depth > 0) continue;
      assert.ok(open, 'a closing tag without an opening one');
      const attrs = open.attrs;
      const inner = block.slice(open.start, m.index);
      const alpha = /style="--a:([^"]*)"/.exec(attrs)?.[1];
      spans.push({
        classes: (/class="([^"]*)"/.exec(attrs)?.[1] ?? '').split(' '),
        alpha: alpha === undefined ? undefined : Number(alpha),
        title: unescape(/title="([^"]*)"/.exec(attrs)?.[1] ?? ''),
        html: inner,
        // The ↵ marker is decoration: the token's own text is what remains.
        text: unescape(inner.replace(/<span class="nl" aria-hidden="true">↵<\/span>/g, '').replace(/<[^>]*>/g, '')),
      });
      open = undefined;
      lastEnd = m.index + m[0].length;
    }
    assert.is(depth, 0, 'unbalanced spans in a solution block');
    assert.is(block.slice(lastEnd), '', 'text after the last token span');
    return spans;
  });
}

const entry = (tokens: [string, number][], extra: Partial<TokenRewardEntry> = {}): TokenRewardEntry => ({
  question: 'What is 2 + 3?', correct: false, tokens: tokens.map(([text, reward]) => ({ text, reward })), ...extra,
});
const page = (...entries: TokenRewardEntry[]) => tokensHtml({ title: 'RLMEC token rewards', notes: ['model: tiny', 'seed: 1'], entries });

test('tokens appear in order, one span each, newlines kept as line breaks with a visible ↵', () => {
  const first: [string, number][] = [['2', -0.01], [' +', 0], [' 3', -0.02], ['\n', -0.1], ['= 6', -0.09], ['.', 0], ['\n\n', -0.03], ['', -0.05], ['é', -0.04]];
  const second: [string, number][] = [['The', 0.1], [' answer', 0.2], [' is', 0.3], [' 5', 0.4]];
  const html = page(entry(first, { question: 'first question' }), entry(second, { question: 'second question', correct: true }));
  const [a, b, ...rest] = tokenSpans(html);
  assert.is(rest.length, 0, 'one solution block per entry');
  assert.equal(a!.map((s) => s.text), first.map(([t]) => t));
  assert.equal(b!.map((s) => s.text), second.map(([t]) => t));
  assert.ok(html.indexOf('first question') < html.indexOf('second question'), 'entries keep their order');
  // A newline token shows its marker inside its coloured span, followed by a real line break.
  assert.is(a![3]!.html, '<span class="nl" aria-hidden="true">↵</span>\n');
  assert.is(a![6]!.html.split('↵').length - 1, 2, 'two markers for two newlines');
  assert.match(html, /pre \{[^}]*white-space: pre-wrap/, 'the solution block wraps and keeps line breaks');
});

test('everything user-supplied is escaped: no raw <script>, quotes and ampersands encoded', () => {
  const evil = '<script>alert("x")</script>';
  const html = tokensHtml({
    title: `${evil} title`,
    notes: [`${evil} note`],
    entries: [entry([[evil, -0.05], [`a"b'c&d`, 0]], { question: `${evil} question`, rewrite: `${evil} rewrite`, answer: evil })],
  });
  assert.not.match(html, /<script/i, 'no raw script tag anywhere');
  assert.is(html.split('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;').length - 1, 7, 'title (head and h1), note, question, token, rewrite, answer');
  assert.match(html, /a&quot;b&#39;c&amp;d/);
  const [spans] = tokenSpans(html);
  assert.equal(spans!.map((s) => s.text), [evil, `a"b'c&d`], 'the escaped tokens read back as the originals');
});

test('colour and opacity follow the rule: red |r|/0.1, green r/0.5, clamped, none at 0', () => {
  const cases: [number, 'neg' | 'pos' | undefined, number | undefined][] = [
    [-0.1, 'neg', 1], [-0.05, 'neg', 0.5], [-0.0731, 'neg', 0.731], [0, undefined, undefined], [-0, undefined, undefined],
    [0.25, 'pos', 0.5], [0.1, 'pos', 0.2], [0.5, 'pos', 1], [-1, 'neg', 1], [2, 'pos', 1],
  ];
  const [spans] = tokenSpans(page(entry(cases.map(([r], i) => [`t${i}`, r]))));
  assert.is(spans!.length, cases.length);
  cases.forEach(([r, kind, alpha], i) => {
    const s = spans![i]!;
    assert.is(s.classes.includes('neg'), kind === 'neg', `red for r = ${r}`);
    assert.is(s.classes.includes('pos'), kind === 'pos', `green for r = ${r}`);
    if (alpha === undefined) assert.is(s.alpha, undefined, `no opacity for r = ${r}`);
    else assert.ok(Math.abs(s.alpha! - alpha) < 1e-9, `opacity for r = ${r}: ${s.alpha} ≠ ${alpha}`);
  });
});

test('the CSS makes "neg" red and "pos" green, in light and in dark mode, at the span\'s opacity', () => {
  const html = page(entry([['x', -0.05]]));
  const schemes = [...html.matchAll(/--neg: (\d+) (\d+) (\d+); --pos: (\d+) (\d+) (\d+);/g)];
  assert.is(schemes.length, 2, 'one palette per colour scheme');
  assert.match(html, /@media \(prefers-color-scheme: dark\)/);
  for (const m of schemes) {
    const [nr, ng, nb, pr, pg, pb] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    assert.ok(nr > 2 * ng && nr > 2 * nb, `red: ${nr} ${ng} ${nb}`);
    assert.ok(pg > 2 * pr && pg > 1.5 * pb, `green: ${pr} ${pg} ${pb}`);
  }
  assert.match(html, /\.neg \{ background-color: rgb\(var\(--neg\) \/ var\(--a, 1\)\); \}/);
  assert.match(html, /\.pos \{ background-color: rgb\(var\(--pos\) \/ var\(--a, 1\)\); \}/);
});

test('the title carries the reward', () => {
  const rewards = [-0.0731, -0.1, 0, 0.25, 0.5, 2, -0.00001, 3e-6];
  const [spans] = tokenSpans(page(entry(rewards.map((r) => ['x', r]))));
  assert.equal(spans!.map((s) => s.title), [
    'r = -0.0731', 'r = -0.1000', 'r = 0.0000', 'r = 0.2500', 'r = 0.5000', 'r = 2.0000', 'r = -1.00e-5', 'r = 3.00e-6',
  ]);
});

test('non-finite rewards render uncoloured with their value in the title, without breaking the rest', () => {
  const bad = { text: '<?>', reward: 'oops' as unknown as number };
  const e = entry([['a', Number.NaN], ['b', -0.05], ['c', Number.POSITIVE_INFINITY], ['d', Number.NEGATIVE_INFINITY]]);
  e.tokens.push(bad);
  const html = page(e);
  const [spans] = tokenSpans(html);
  assert.equal(spans!.map((s) => s.title), ['r = NaN', 'r = -0.0500', 'r = Infinity', 'r = -Infinity', 'r = oops']);
  for (const i of [0, 2, 3, 4]) {
    assert.not.ok(spans![i]!.classes.includes('neg') || spans![i]!.classes.includes('pos'), `token ${i} is uncoloured`);
    assert.is(spans![i]!.alpha, undefined);
    assert.ok(spans![i]!.classes.includes('bad'), `token ${i} is outlined`);
  }
  assert.equal(spans![1]!.classes, ['tok', 'neg'], 'the finite token next to them keeps its colour');
  assert.match(html, /5 tokens · Σ r = -0\.0500 · 4 non-finite/);
});

test('an empty report says there is nothing to show', () => {
  const html = tokensHtml({ title: 'empty run', entries: [] });
  assert.match(html, /Nothing to show/);
  assert.not.match(html, /<article>/);
  assert.is(tokenSpans(html).length, 0);
  assert.match(html, /<h1>empty run<\/h1>/);
});

test('one self-contained document: UTF-8, legend with both ranges, no scripts or outside resources', () => {
  const html = page(entry([['x', -0.05]]));
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.match(html, /<meta charset="utf-8">/);
  assert.match(html, /<style>[\s\S]*<\/style>/);
  assert.not.match(html, /<script|<link|<img|\bsrc=|\bhref=|url\(|@import|https?:/i);
  assert.match(html, /\[−0\.1, 0\][^<]*<span class="sw neg">red<\/span>, opacity \|r\|\/0\.1/);
  assert.match(html, /\[0, 0\.5\][^<]*<span class="sw pos">green<\/span>, opacity r\/0\.5/);
  assert.match(html, /<p class="note">model: tiny<\/p>\s*<p class="note">seed: 1<\/p>/);
});

test('badge, rewrite and reference answer: shown when given, absent when not', () => {
  const withAll = page(entry([['5', 0.2]], { correct: true, rewrite: 'fixed\nsolution', answer: 5 }));
  assert.match(withAll, /<span class="badge ok">correct<\/span>/);
  assert.not.match(withAll, /badge wrong/);
  assert.match(withAll, /<pre class="rewrite">fixed\nsolution<\/pre>/);
  assert.match(withAll, /Reference answer <span class="answer">5<\/span>/);
  const bare = page(entry([['6', -0.05]]));
  assert.match(bare, /<span class="badge wrong">wrong<\/span>/);
  assert.not.match(bare, /class="rewrite"|class="answer"/);
  assert.match(page(entry([['6', -0.05]], { answer: 0 })), /<span class="answer">0<\/span>/, 'a falsy answer is still shown');
});

test('control bytes show as control pictures, so an invisible token still has a visible colour', () => {
  const [spans] = tokenSpans(page(entry([['\u0000', -0.05], ['a\u001bb', -0.1], ['\u007f', 0.2], ['\t', -0.1]])));
  assert.equal(spans!.map((s) => s.text), ['␀', 'a␛b', '␡', '\t']);
});

test.run();
