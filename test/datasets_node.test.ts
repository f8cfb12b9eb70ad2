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
import { DatasetError, describeSkipped, loadPreferenceDataset, loadProblemDataset, loadPromptDataset, loadRewriteDataset, loadSFTDataset, readJsonlLines } from 'webrlhf';
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
  const want = [{ prompt: 'a', completion: 'b' }, { prompt: '<|user|>\nq\n<|assistant|>\n', completion: 'r', messages: lines[1]!.messages }];
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

/** A path as a regular expression matches it literally. */
const literally = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('RLMEC problems from a file: numbers and numeric strings load; each bad line 3 names the path, line, field and fix', async () => {
  const good = [
    { question: 'Ann has 3 pens. Gets 5 more. How many pens now?', solution: '3+5=8\nThe answer is 8', answer: 8 },
    { question: 'Half of 5?', solution: '5/2=2.5\nThe answer is 2.5', answer: '2.5' },
  ];
  const path = join(root, 'problems.jsonl');
  await writeFile(path, good.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const ds = await loadProblemDataset(path);
  assert.equal(ds.records, [good[0], { ...good[1], answer: 2.5 }]);
  assert.is(ds.name, path);

  const q = 'Q?';
  const cases: [unknown, string, RegExp][] = [
    [{ question: q, solution: 'The answer is 4' }, 'answer', /field "answer" is missing; each line needs \{question, solution, answer\}$/],
    [{ question: q, solution: 'The answer is 4', answer: 'forty' }, 'answer', /field "answer" must be a number like 42 or "42", got "forty"/],
    [{ question: q, solution: 'The answer is 4', answer: '3/4' }, 'answer', /field "answer" must be a number like 42 or "42", got "3\/4"/],
    [{ question: q, solution: 'The answer is 4', answer: true }, 'answer', /field "answer" must be a number like 42 or "42", got true/],
    [{ question: q, solution: '2+2=4', answer: 4 }, 'solution', /field "solution" has no "The answer is <number>";.*end the solution with "The answer is 4"/],
    [{ question: q, solution: '2+2=5\nThe answer is 5', answer: 4 }, 'solution', /field "solution" says "The answer is 5" but field "answer" is 4; correct whichever is wrong/],
    [{ question: q, solution: 'The answer is 2.5', answer: 2 }, 'solution', /field "solution" says "The answer is 2\.5" but field "answer" is 2;/],
  ];
  for (const [i, [bad, field, re]] of cases.entries()) {
    const file = join(root, `bad-problem-${i}.jsonl`);
    await writeFile(file, [...good, bad].map((l) => JSON.stringify(l)).join('\n'));
    const where = new RegExp(`^${literally(file)} line 3: `);
    await rejectsWith(loadProblemDataset(file), (e) => datasetError(file, 3, field, re)(e) && where.test((e as Error).message), JSON.stringify(bad));
    const skipped = await loadProblemDataset(file, { skip_bad_lines: true });
    assert.equal([skipped.records.length, skipped.skipped, skipped.skippedErrors[0]!.line, skipped.skippedErrors[0]!.field], [2, 1, 3, field]);
    assert.match(describeSkipped(skipped)!, new RegExp(`skipped 1 bad line \\(line 3: field "${field}"`));
  }
});

test('RLMEC rewrites from a file: texts kept exactly; a missing field on line 3 names it; skip_bad_lines counts bad lines', async () => {
  const good = [
    { question: 'Q1', prediction: '2+2=5\nThe answer is 5', rewrite: '2+2=4\nThe answer is 4' },
    { question: 'Q2', prediction: ' 1+1=2\r\nThe answer is 2', rewrite: ' 1+1=2\r\nThe answer is 2' },
  ];
  const path = join(root, 'rewrites.jsonl');
  await writeFile(path, [...good, { question: 'Q3', rewrite: 'r' }, 'not an object', { ...good[0], rewrite: 3 }].map((l) => JSON.stringify(l)).join('\r\n'));
  await rejectsWith(
    loadRewriteDataset(path),
    datasetError(path, 3, 'prediction', new RegExp(`^${literally(path)} line 3: field "prediction" is missing; each line needs \\{question, prediction, rewrite\\}$`)),
    'missing prediction',
  );
  const ds = await loadRewriteDataset(path, { skip_bad_lines: true });
  assert.equal(ds.records, good);
  assert.is(ds.skipped, 3);
  assert.equal(ds.skippedErrors.map((e) => [e.line, e.field]), [[3, 'prediction'], [4, undefined], [5, 'rewrite']]);
  assert.equal((await loadRewriteDataset(path, { limit: 1 })).records, [good[0]]);
});

test.run();
