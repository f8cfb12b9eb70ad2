// The frame both report pages share (tokens.html and report.html): one self-contained HTML5
// document with inline style only, and the base look (palette, type, code blocks, badges)
// in light and dark mode, so the demo's pages read as one set.

import { escapeHtml } from './html_escape.js';

export interface HtmlPageParts {
  /** Plain text: the <title> and the <h1>. */
  title: string;
  /** CSS added after the base style (it may override it). */
  style: string;
  /** Markup under the <h1>, inside <header>. */
  header: string;
  /** Markup of <main>. */
  main: string;
}

export function htmlPage(page: HtmlPageParts): string {
  const title = escapeHtml(page.title);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${title}</title>
<style>${BASE_STYLE}${page.style}</style>
</head>
<body>
<header>
<h1>${title}</h1>
${page.header}
</header>
<main>
${page.main}
</main>
</body>
</html>
`;
}

const BASE_STYLE = `
:root { --bg: #ffffff; --fg: #1b1b1f; --muted: #5f6368; --panel: #f4f5f7; --line: #d9dce1; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #16171a; --fg: #e8e9ec; --muted: #9aa0a6; --panel: #202226; --line: #34373d; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 60rem; padding: 1.5rem; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
.note { margin: 0; color: var(--muted); }
pre { margin: .25rem 0 0; padding: .75rem; background: var(--panel); border-radius: 6px;
  white-space: pre-wrap; overflow-wrap: anywhere; font: 14px/1.6 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.badge { font-size: .75rem; font-weight: 600; padding: .1rem .5rem; border-radius: 999px; color: var(--bg); }
.ctl { color: var(--muted); }
.empty { color: var(--muted); font-style: italic; }
`;
