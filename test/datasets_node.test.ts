// JSONL datasets from Node's filesystem and an HTTP server: paths and file: URLs, CRLF, a BOM,
// no final newline, files of many read chunks with characters split between chunks, missing
// files and directories.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DatasetError, loadPreferenceDataset, loadPromptDataset, loadSFTDataset, readJsonlLines } from 'webrlhf';
import { FILE_CHUNK_BYTES } from '../src/runtime/platform.js';
import { rejectsWith } from './harness/rejects.js';

const test = suite('datasets (node fs)');

let root = '';

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'webrlhf-data-'));
});

test.after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const datasetError = (file: string, line: number | undefined, field: string | undefined, re: RegExp) => (e: unknown) =>
  e instanceof DatasetError && e.file === file && e.line === line && e.field === field && re.test(e.message);

test('a path, a file: URL (string or URL): CRLF, BOM and no final newline', async () => {
  const path = join(root, 'sft.jsonl');
  const lines = [{ prompt: 'a', completion: 'b' }, { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'r' }] }];
  await writeFile(path, '\uFEFF' + lines.map((l) => JSON.stringify(l)).join('\r\n\r\n'));
  const want = [{ prompt: 'a', completion: 'b' }, { prompt: '<|user|>\nq\n<|assistant|>\n', completion: 'r' }];
  for (const source of [path, pathToFileURL(path), pathToFileURL(path).href]) {
    const ds = await loadSFTDataset(source);
    assert.equal(ds.records, want);
    assert.is(ds.name, typeof source === 'string' ? source : source.href);
  }
});

test('a bad line in a file names the path, the line (counting blank lines) and the field', async () => {
  const path = join(root, 'prefs.jsonl');
  await writeFile(path, '{"prompt":"p","chosen":"a","rejected":"b"}\r\n\r\n{"prompt":"p","chosen":"a"}\r\n');
  await rejectsWith(
    loadPreferenceDataset(path),
    datasetError(path, 3, 'rejected', new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 3: field "rejected" is missing; each line needs \\{prompt, chosen, rejected\\}$`)),
    'missing rejected',
  );
  const skipped = await loadPreferenceDataset(path, { skip_bad_lines: true });
  assert.equal([skipped.records.length, skipped.skipped, skipped.skippedErrors[0]!.line], [1, 1, 3]);
});

test('a file of many read chunks, multi-byte characters across chunk boundaries, parses exactly', async () => {
  // Every line is 3- and 4-byte characters, so nearly every chunk boundary falls inside one.
  const lines = Array.from({ length: 3000 }, (_, i) => ({ prompt: `${i} ${'€😀é'.repeat(1 + (i % 17))}`, completion: '中'.repeat(i % 5) }));
  const text = lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
  const bytes = new TextEncoder().encode(text);
  assert.ok(bytes.byteLength > 4 * FILE_CHUNK_BYTES, `the file spans ${bytes.byteLength / FILE_CHUNK_BYTES} chunks`);
  const split = [1, 2, 3, 4].filter((k) => (bytes[k * FILE_CHUNK_BYTES]! & 0xc0) === 0x80);
  assert.ok(split.length >= 1, 'a character is split at a chunk boundary');
  const path = join(root, 'big.jsonl');
  await writeFile(path, bytes);
  const ds = await loadSFTDataset(path);
  assert.is(ds.records.length, lines.length);
  assert.equal(ds.records, lines);
  // The streaming reader, line by line, agrees.
  let n = 0;
  for await (const { line, value } of readJsonlLines(path)) {
    assert.is(line, n + 1);
    assert.equal(value, lines[n]);
    n++;
  }
  assert.is(n, lines.length);
  // A limit stops reading early.
  assert.is((await loadSFTDataset(path, { limit: 5 })).records.length, 5);
});

test('a missing file or a directory is a DatasetError naming the path', async () => {
  const missing = join(root, 'nope', 'train.jsonl');
  await rejectsWith(
    loadSFTDataset(missing),
    datasetError(missing, undefined, undefined, /nope\/train\.jsonl: no such file; check the path \(a relative path starts at the working directory\)$/),
    'missing',
  );
  await rejectsWith(loadSFTDataset(pathToFileURL(missing)), (e) => e instanceof DatasetError && e.file === pathToFileURL(missing).href && /no such file/.test(e.message), 'missing URL');
  const dir = join(root, 'a-directory');
  await mkdir(dir);
  await rejectsWith(loadSFTDataset(dir), (e) => e instanceof DatasetError && e.file === dir && /a-directory: (reading failed|could not open the file) \(.*EISDIR/.test(e.message), 'directory');
});

test('an http URL streams the response; a 404 names the URL', async () => {
  const body = Array.from({ length: 200 }, (_, i) => JSON.stringify({ prompt: `p${i}` })).join('\n');
  const server: Server = createServer((req, res) => {
    if (req.url === '/prompts.jsonl') {
      res.writeHead(200, { 'content-type': 'application/jsonl' });
      // Sent in pieces so the reader sees several chunks.
      for (let i = 0; i < body.length; i += 999) res.write(body.slice(i, i + 999));
      res.end();
    } else {
      res.writeHead(404, 'Not Found');
      res.end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    const { port } = server.address() as { port: number };
    const ds = await loadPromptDataset(`http://127.0.0.1:${port}/prompts.jsonl`);
    assert.is(ds.records.length, 200);
    assert.equal(ds.records[199], { prompt: 'p199' });
    const url = `http://127.0.0.1:${port}/missing.jsonl`;
    await rejectsWith(loadPromptDataset(url), datasetError(url, undefined, undefined, /fetching .*missing\.jsonl failed with HTTP 404 Not Found; check the URL$/), '404');
  } finally {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  }
});

test.run();
