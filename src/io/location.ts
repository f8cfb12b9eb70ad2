// Where a string or URL given by a user points: a local file (Node, Deno) or something to
// fetch. Model folders, datasets and config files all read locations the same way.
import { platform } from '../runtime/platform.js';

/** A URL scheme of two letters at least ("https:", "blob:"), so a Windows drive ("C:") is a path. */
export const HAS_SCHEME = /^[a-zA-Z][a-zA-Z\d+.-]+:/;

export type Location = { kind: 'file'; path: string | URL } | { kind: 'url'; href: string };

/**
 * A file: URL or, where there is a filesystem, a string without a scheme is a local path;
 * anything else is a URL (in a browser a bare string is relative to the page).
 */
export function locate(where: string | URL): Location {
  const href = typeof where === 'string' ? where : where.href;
  if (href.startsWith('file:')) return { kind: 'file', path: typeof where === 'string' ? new URL(where) : where };
  if (!HAS_SCHEME.test(href) && platform().fs) return { kind: 'file', path: href };
  return { kind: 'url', href };
}

/** The page's URL in a browser or worker, which relative URLs are resolved against; undefined elsewhere. */
export function pageBase(): string | undefined {
  return (globalThis as { location?: { href: string } }).location?.href;
}
