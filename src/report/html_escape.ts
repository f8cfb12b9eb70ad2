// Escaping shared by the report pages (tokens.html, report.html) and their SVG charts:
// everything they print is model output or a caller's label, so nothing goes out raw.

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe in element content and in quoted attribute values (srcdoc included). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * Escaped text with control bytes (other than tab and line breaks) drawn as their
 * U+2400 "Control Pictures": a byte-level model may emit bytes that would otherwise print nothing.
 */
export function escapeVisible(s: string): string {
  return escapeHtml(s).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, controlPicture);
}

function controlPicture(c: string): string {
  const code = c.charCodeAt(0);
  return `<span class="ctl">${String.fromCharCode(code === 0x7f ? 0x2421 : 0x2400 + code)}</span>`;
}
