// JSON Lines, read as a stream: one JSON value per line, from a local file (Node, Deno), a
// URL, a Blob/File, a byte stream or text given directly. Only the line being parsed is
// held in memory, so a dataset file of any size can be read.
import { ConfigError, DatasetError } from '../errors.js';
import { locate, pageBase } from '../io/location.js';
import { platform } from '../runtime/platform.js';

/** JSONL content given directly (tests, text built in code, a textarea), named for messages. */
export interface JsonlText {
  text: string | Uint8Array;
  /** Names the content in messages; default "inline". */
  name?: string;
}

/** A stream of UTF-8 bytes (a fetch body, a decompressed file, ...), named for messages. */
export interface JsonlStream {
  stream: ReadableStream<Uint8Array>;
  /** Names the content in messages; default "stream". */
  name?: string;
}

/**
 * Where JSONL comes from: a path or file: URL (Node, Deno), an http(s)/blob/data URL (in a
 * browser a path is a URL relative to the page), a Blob or File, a byte stream, or text.
 */
export type JsonlSource = string | URL | Blob | JsonlText | JsonlStream;

export interface JsonlReadOptions {
  /** Skip lines that are not UTF-8 JSON instead of throwing; each is reported to onBadLine. */
  skip_bad_lines?: boolean;
  /** Called with each line skipped under skip_bad_lines. */
  onBadLine?: (error: DatasetError) => void;
  /** For URLs: the fetch to use (default globalThis.fetch) and its init. */
  fetch?: typeof fetch;
  init?: RequestInit;
}

/** One line's value; `line` is 1-based and counts every line, blank ones included. */
export interface JsonlLine {
  line: number;
  value: unknown;
}

const NEWLINE = 0x0a;
const BOM = '\uFEFF';
const MAX_ERROR_DETAIL = 160;

/** How a source is named in messages: the path or URL as given, a File's name, or the wrapper's name. */
export function jsonlSourceName(source: JsonlSource): string {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  if (isBlob(source)) return (source as Partial<File>).name || 'blob';
  if (typeof source !== 'object' || source === null) return String(source);
  if ('stream' in source) return source.name ?? 'stream';
  return source.name ?? 'inline';
}

/**
 * The JSON value of every non-blank line, in order. Lines end at \n (a \r before it is
 * dropped); the last line needs no \n; a UTF-8 byte-order mark at the start is skipped.
 * A line that is not UTF-8 JSON throws a DatasetError naming the source and line, or with
 * `skip_bad_lines` goes to `onBadLine`. Stopping early (break) closes the file.
 */
export async function* readJsonlLines(source: JsonlSource, options: JsonlReadOptions = {}): AsyncGenerator<JsonlLine> {
  const name = jsonlSourceName(source);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  for await (const { line, bytes } of byteLines(await openSource(source, name, options), name)) {
    let value: unknown;
    try {
      let text: string;
      try {
        text = decoder.decode(bytes);
      } catch {
        throw new DatasetError(`${name} line ${line}: not valid UTF-8; save the file as UTF-8, or pass skip_bad_lines: true to skip and count bad lines`, { file: name, line });
      }
      if (line === 1 && text.startsWith(BOM)) text = text.slice(1);
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (text.trim() === '') continue;
      try {
        value = JSON.parse(text);
      } catch (e) {
        const detail = e instanceof Error ? e.message : String(e);
        throw new DatasetError(
          `${name} line ${line}: not valid JSON (${clip(detail)}); fix the line or pass skip_bad_lines: true to skip and count bad lines`,
          { file: name, line },
          { cause: e },
        );
      }
    } catch (e) {
      if (!(options.skip_bad_lines && e instanceof DatasetError)) throw e;
      options.onBadLine?.(e);
      continue;
    }
    yield { line, value };
  }
}

function clip(text: string): string {
  return text.length > MAX_ERROR_DETAIL ? `${text.slice(0, MAX_ERROR_DETAIL)}…` : text;
}

function isBlob(v: unknown): v is Blob {
  return typeof Blob !== 'undefined' && v instanceof Blob;
}

async function openSource(source: JsonlSource, name: string, options: JsonlReadOptions): Promise<ReadableStream<Uint8Array>> {
  if (typeof source === 'string' || source instanceof URL) {
    const at = locate(source);
    return at.kind === 'file' ? openFile(at.path, name) : openURL(at.href, name, options);
  }
  if (isBlob(source)) return source.stream() as ReadableStream<Uint8Array>;
  if (typeof source === 'object' && source !== null) {
    if ('stream' in source && source.stream instanceof ReadableStream) return source.stream;
    if ('text' in source && (typeof source.text === 'string' || source.text instanceof Uint8Array)) {
      const bytes = typeof source.text === 'string' ? new TextEncoder().encode(source.text) : source.text;
      return new ReadableStream({ start: (c) => (c.enqueue(bytes), c.close()) });
    }
  }
  throw new ConfigError(
    `a JSONL source is a path, a URL, a Blob/File, { stream: ReadableStream<Uint8Array> } or { text: string | Uint8Array }; got ${Object.prototype.toString.call(source)}`,
  );
}

async function openFile(path: string | URL, name: string): Promise<ReadableStream<Uint8Array>> {
  const fs = platform().fs;
  if (!fs) {
    throw new DatasetError(`${name}: this runtime has no filesystem (a browser or Web Worker); pass a URL, a File/Blob, or { text } instead`, { file: name });
  }
  let stream: ReadableStream<Uint8Array> | undefined;
  try {
    stream = await fs.openRead(path);
  } catch (e) {
    throw new DatasetError(`${name}: could not open the file (${e instanceof Error ? e.message : String(e)}); check its permissions`, { file: name }, { cause: e });
  }
  if (!stream) throw new DatasetError(`${name}: no such file; check the path (a relative path starts at the working directory)`, { file: name });
  return stream;
}

async function openURL(href: string, name: string, options: JsonlReadOptions): Promise<ReadableStream<Uint8Array>> {
  let url: URL;
  try {
    url = new URL(href, pageBase());
  } catch {
    throw new DatasetError(`${name}: not a valid URL or path`, { file: name });
  }
  const get = options.fetch ?? globalThis.fetch.bind(globalThis);
  let response: Response;
  try {
    response = await get(url, options.init);
  } catch (e) {
    throw new DatasetError(`${name}: could not fetch ${url.href} (${e instanceof Error ? e.message : String(e)}); check the URL and the network`, { file: name }, { cause: e });
  }
  if (!response.ok) {
    throw new DatasetError(`${name}: fetching ${url.href} failed with HTTP ${response.status} ${response.statusText}; check the URL`.trimEnd(), { file: name });
  }
  return response.body ?? new ReadableStream({ start: (c) => c.close() });
}

/**
 * Splits a byte stream at \n bytes. A \n byte never occurs inside a multi-byte UTF-8
 * character, so splitting before decoding is exact, and each line is decoded whole: a bad
 * byte is reported on its own line, wherever the chunk boundaries fall.
 */
async function* byteLines(stream: ReadableStream<Uint8Array>, name: string): AsyncGenerator<{ line: number; bytes: Uint8Array }> {
  const reader = stream.getReader();
  let pending: Uint8Array[] = []; // the current line's bytes from earlier chunks
  let line = 0;
  try {
    for (;;) {
      let chunk: Uint8Array;
      try {
        const next = await reader.read();
        if (next.done) break;
        chunk = next.value;
      } catch (e) {
        const after = line ? ` after line ${line}` : '';
        throw new DatasetError(`${name}: reading failed${after} (${e instanceof Error ? e.message : String(e)}); check that it is a readable file`, { file: name }, { cause: e });
      }
      if (!(chunk instanceof Uint8Array)) {
        throw new DatasetError(`${name}: the stream gave a ${Object.prototype.toString.call(chunk)}; a JSONL stream gives Uint8Array chunks of UTF-8`, { file: name });
      }
      let start = 0;
      for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
        line++;
        yield { line, bytes: concat(pending, chunk.subarray(start, end)) };
        pending = [];
        start = end + 1;
      }
      // A copy: the stream may reuse its buffer for the next chunk.
      if (start < chunk.byteLength) pending.push(chunk.slice(start));
    }
    if (pending.length) yield { line: line + 1, bytes: concat(pending, new Uint8Array(0)) };
  } finally {
    // Closes the file when the reader stopped early; nothing once the stream has ended.
    await reader.cancel().catch(() => {});
  }
}

function concat(parts: Uint8Array[], last: Uint8Array): Uint8Array {
  if (parts.length === 0) return last;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, last.byteLength));
  let at = 0;
  for (const p of [...parts, last]) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
