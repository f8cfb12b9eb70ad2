// JSONL datasets from content every runtime can make (text, Blob/File, byte streams, data:
// URLs): line splitting, the TRL formats, every error message, skip_bad_lines counting.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DatasetError, SKIPPED_ERRORS_KEPT, describeSkipped, dropIdenticalPairs, loadPreferenceDataset, loadPromptDataset, loadSFTDataset,
  preferenceDataset, promptDataset, readJsonlLines, renderChatMessages, renderChatPrompt, sftDataset, sftRecord, splitChat,
  problemDataset, problemRecord, rewriteDataset, loadProblemDataset, loadRewriteDataset,
  ConfigError, type JsonlSource, type JsonlLine,
} from 'webrlhf';
import { platform } from '../src/runtime/platform.js';
import { rejectsWith } from './harness/rejects.js';

const test = suite('datasets (JSONL)');

const encode = (s: string) => new TextEncoder().encode(s);
const jsonl = (...values: unknown[]) => values.map((v) => JSON.stringify(v)).join('\n') + '\n';

/** A byte stream handing out `size`-byte chunks, counting the chunks read and whether it was cancelled. */
function chunked(bytes: Uint8Array, size: number) {
  const state = { pulls: 0, cancelled: false };
  let at = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        state.pulls++;
        if (at >= bytes.byteLength) return c.close();
        c.enqueue(bytes.slice(at, at + size));
        at += size;
      },
      cancel() {
        state.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

async function collect(source: JsonlSource, options?: Parameters<typeof readJsonlLines>[1]): Promise<JsonlLine[]> {
  const out: JsonlLine[] = [];
  for await (const l of readJsonlLines(source, options)) out.push(l);
  return out;
}

/** A DatasetError with these fields whose message matches every pattern. */
const datasetError = (where: { file: string; line?: number; index?: number; field?: string }, ...patterns: RegExp[]) => (e: unknown) =>
  e instanceof DatasetError &&
  e.code === 'DATASET' &&
  e.file === where.file &&
  e.line === where.line &&
  e.index === where.index &&
  e.field === where.field &&
  patterns.every((re) => re.test(e.message));

async function errorFrom(p: Promise<unknown>): Promise<DatasetError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${String(e)}`);
    return e;
  }
  throw new Error('expected the promise to reject');
}

function throwsError(f: () => unknown): DatasetError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${String(e)}`);
    return e;
  }
  throw new Error('expected a throw');
}

test('lines: numbered from 1 with blank lines counted and skipped; CRLF, a BOM and a missing last newline are fine', async () => {
  const text = '\uFEFF{"a":1}\r\n\r\n   \n{"a":"x\\ny"}\n[2, 3]\r\n"last"';
  const lines = await collect({ text, name: 'mixed.jsonl' });
  assert.equal(lines, [
    { line: 1, value: { a: 1 } },
    { line: 4, value: { a: 'x\ny' } },
    { line: 5, value: [2, 3] },
    { line: 6, value: 'last' },
  ]);
  // The same bytes as Uint8Array, and an empty text.
  assert.equal(await collect({ text: encode(text) }), lines);
  assert.equal(await collect({ text: '' }), []);
  assert.equal(await collect({ text: '\n\n' }), []);
});

test('lines: the same values whatever the chunk boundaries (multi-byte characters and \\r\\n split across chunks)', async () => {
  const values = [{ t: 'é€😀 ascii' }, { t: '中文\u0301' }, {}, { t: '😀😀😀' }];
  const bytes = encode(values.map((v) => JSON.stringify(v)).join('\r\n') + '\r\n');
  for (const size of [1, 2, 3, 5, 7, 64]) {
    const { stream } = chunked(bytes, size);
    const got = await collect({ stream, name: `chunks of ${size}` });
    assert.equal(got.map((l) => l.value), values, `chunk size ${size}`);
    assert.equal(got.map((l) => l.line), [1, 2, 3, 4]);
  }
});

test('lines: a line that is not JSON names the source and line; a BOM later than line 1 is not skipped', async () => {
  const text = '{"a":1}\n{"a":2}\n\n{"a": }\n';
  await rejectsWith(
    collect({ text, name: 'train.jsonl' }),
    datasetError({ file: 'train.jsonl', line: 4 }, /^train\.jsonl line 4: not valid JSON \(.+\); fix the line or pass skip_bad_lines: true to skip and count bad lines$/),
    'bad JSON',
  );
  await rejectsWith(collect({ text: '{}\n\uFEFF{}\n' }), datasetError({ file: 'inline', line: 2 }, /^inline line 2: not valid JSON/), 'BOM on line 2');
  await rejectsWith(collect({ text: '{"a":1} {"b":2}\n' }), datasetError({ file: 'inline', line: 1 }, /not valid JSON/), 'two values on a line');
});

test('lines: bytes that are not UTF-8 name their line', async () => {
  const bytes = new Uint8Array([...encode('{"a":1}\n{"a":"'), 0xff, 0xfe, ...encode('"}\n{"a":3}\n')]);
  await rejectsWith(
    collect({ text: bytes, name: 'latin1.jsonl' }),
    datasetError({ file: 'latin1.jsonl', line: 2 }, /^latin1\.jsonl line 2: not valid UTF-8; save the file as UTF-8/),
    'invalid UTF-8',
  );
  const bad: number[] = [];
  const lines = await collect({ text: bytes }, { skip_bad_lines: true, onBadLine: (e) => bad.push(e.line!) });
  assert.equal(lines.map((l) => l.value), [{ a: 1 }, { a: 3 }]);
  assert.equal(bad, [2]);
});

test('lines: a Blob or File streams, named by the file name', async () => {
  const file = new File([jsonl({ prompt: 'p' }), '{oops}\n'], 'prompts.jsonl');
  await rejectsWith(collect(file), datasetError({ file: 'prompts.jsonl', line: 2 }, /^prompts\.jsonl line 2: not valid JSON/), 'File');
  const blob = new Blob([jsonl({ prompt: 'a' }, { prompt: 'b' })]);
  assert.equal((await loadPromptDataset(blob)).records, [{ prompt: 'a' }, { prompt: 'b' }]);
  assert.is((await loadPromptDataset(blob)).name, 'blob');
});

test('lines: URLs are fetched (data: URL; HTTP errors name the URL and status)', async () => {
  const url = `data:application/jsonl,${encodeURIComponent(jsonl({ prompt: 'from a URL' }))}`;
  assert.equal((await loadPromptDataset(url)).records, [{ prompt: 'from a URL' }]);
  assert.equal((await loadPromptDataset(new URL(url))).records, [{ prompt: 'from a URL' }]);
  const notFound = async () => new Response('nope', { status: 404, statusText: 'Not Found' });
  await rejectsWith(
    loadPromptDataset('https://example.invalid/data/prompts.jsonl', { fetch: notFound }),
    datasetError({ file: 'https://example.invalid/data/prompts.jsonl' }, /fetching https:\/\/example\.invalid\/data\/prompts\.jsonl failed with HTTP 404 Not Found; check the URL/),
    '404',
  );
  const offline = async () => {
    throw new TypeError('network down');
  };
  await rejectsWith(loadPromptDataset('https://example.invalid/p.jsonl', { fetch: offline }), datasetError({ file: 'https://example.invalid/p.jsonl' }, /could not fetch .*network down/), 'network');
});

test('lines: stopping early cancels the stream, so the rest is never read', async () => {
  const bytes = encode(Array.from({ length: 1000 }, (_, i) => JSON.stringify({ prompt: `p${i}` })).join('\n'));
  const { stream, state } = chunked(bytes, 64);
  const ds = await loadPromptDataset({ stream, name: 'big' }, { limit: 3 });
  assert.equal(ds.records, [{ prompt: 'p0' }, { prompt: 'p1' }, { prompt: 'p2' }]);
  assert.ok(state.cancelled, 'the stream was cancelled');
  assert.ok(state.pulls < 5, `read ${state.pulls} chunks of ~${Math.ceil(bytes.byteLength / 64)}`);
});

test('lines: a source of the wrong kind is a ConfigError listing the kinds', async () => {
  await rejectsWith(collect(42 as unknown as JsonlSource), (e) => e instanceof ConfigError && /a path, a URL, a Blob\/File/.test(e.message), 'number');
});

test('local files where the runtime has a filesystem (Node, Deno: streamed in chunks); elsewhere file: URLs are refused', async () => {
  const fs = platform().fs;
  const url = new URL('file:///tmp/webrlhf-datasets/train.jsonl');
  if (!fs) {
    await rejectsWith(loadSFTDataset(url), datasetError({ file: url.href }, /this runtime has no filesystem \(a browser or Web Worker\); pass a URL, a File\/Blob, or \{ text \} instead/), 'browser');
    return;
  }
  const dir = 'build/test/datasets-fs';
  await fs.mkdirp(dir);
  const lines = Array.from({ length: 2000 }, (_, i) => ({ prompt: `${i} ${'€😀'.repeat(i % 13)}`, completion: 'é' }));
  await fs.writeFileAtomic(`${dir}/train.jsonl`, encode(`\uFEFF${lines.map((l) => JSON.stringify(l)).join('\r\n')}`));
  const ds = await loadSFTDataset(`${dir}/train.jsonl`);
  assert.equal(ds.records, lines);
  await rejectsWith(loadSFTDataset(`${dir}/missing.jsonl`), datasetError({ file: `${dir}/missing.jsonl` }, /missing\.jsonl: no such file; check the path/), 'missing');
});

test('chat template: each message as <|role|>, the prompt ends with the assistant header', () => {
  const messages = [
    { role: 'system' as const, content: 'Be brief.' },
    { role: 'user' as const, content: 'Hi?' },
    { role: 'assistant' as const, content: 'Hello.' },
  ];
  assert.is(renderChatMessages(messages), '<|system|>\nBe brief.\n<|user|>\nHi?\n<|assistant|>\nHello.\n');
  assert.is(renderChatPrompt(messages.slice(0, 2)), '<|system|>\nBe brief.\n<|user|>\nHi?\n<|assistant|>\n');
  assert.equal(splitChat(messages), { prompt: '<|system|>\nBe brief.\n<|user|>\nHi?\n<|assistant|>\n', completion: 'Hello.' });
  assert.throws(() => splitChat(messages.slice(0, 2)), (e: unknown) => e instanceof ConfigError && /last message must be the assistant's.*"user"/.test((e as Error).message));
});

test('SFT: prompt/completion, messages, text, and the conversational prompt/completion form; extra fields ignored', async () => {
  const text = jsonl(
    { prompt: 'Q: 1+1?', completion: ' 2', id: 7, source: 'x' },
    { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Yo' }, { role: 'user', content: 'Bye' }, { role: 'assistant', content: 'Ciao' }] },
    { text: 'plain pretraining text' },
    { prompt: [{ role: 'user', content: 'Name?' }], completion: [{ role: 'assistant', content: 'Ada' }] },
  );
  const ds = await loadSFTDataset({ text, name: 'sft.jsonl' });
  assert.is(ds.name, 'sft.jsonl');
  assert.is(ds.skipped, 0);
  assert.equal(ds.records, [
    { prompt: 'Q: 1+1?', completion: ' 2' },
    {
      prompt: '<|user|>\nHi\n<|assistant|>\nYo\n<|user|>\nBye\n<|assistant|>\n', completion: 'Ciao',
      messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Yo' }, { role: 'user', content: 'Bye' }, { role: 'assistant', content: 'Ciao' }],
    },
    { prompt: '', completion: 'plain pretraining text' },
    { prompt: '<|user|>\nName?\n<|assistant|>\n', completion: 'Ada' },
  ]);
});

test('SFT: every bad record names the file, line and field', async () => {
  const cases: [unknown, string | undefined, RegExp][] = [
    [{ prompt: 'p' }, 'completion', /^sft\.jsonl line 1: field "completion" is missing; each line needs \{prompt, completion\}, \{messages: \[\{role, content\}, \.\.\.\]\} or \{text\}$/],
    [{}, 'prompt', /field "prompt" is missing/],
    [{ prompt: 3, completion: 'c' }, 'prompt', /field "prompt" must be a string or a list of \{role, content\} messages, got 3/],
    [{ prompt: 'p', completion: null }, 'completion', /field "completion" must be a string or a list with one assistant message, got null/],
    [{ prompt: 'p', completion: [{ role: 'user', content: 'c' }] }, 'completion', /field "completion" must be a string or a list with one assistant message, got 1 message\(s\) starting with a "user" one/],
    [{ text: 5 }, 'text', /field "text" must be a string, got 5/],
    [{ messages: 'hi' }, 'messages', /field "messages" must be a non-empty list of \{role, content\} messages, got "hi"/],
    [{ messages: [] }, 'messages', /field "messages" must be a non-empty list/],
    [{ messages: [{ role: 'user', content: 'q' }] }, 'messages', /field "messages" must end with an assistant message \(it is the completion to learn\), got a "user" message last/],
    [{ messages: [{ role: 'bot', content: 'q' }, { role: 'assistant', content: 'a' }] }, 'messages[0].role', /field "messages\[0\]\.role" must be "system", "user" or "assistant", got "bot"/],
    [{ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: ['a'] }] }, 'messages[1].content', /field "messages\[1\]\.content" must be a string, got an array/],
    [{ messages: [{ role: 'user', content: 'q' }, 'a'] }, 'messages[1]', /field "messages\[1\]" must be a \{role, content\} object, got "a"/],
    [{ prompt: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }], completion: 'c' }, 'prompt', /field "prompt" ends with an assistant message/],
    [[1, 2], undefined, /^sft\.jsonl line 1: the line is an array, not a JSON object; each line needs/],
    ['just a string', undefined, /the line is "just a string", not a JSON object/],
  ];
  for (const [value, field, re] of cases) {
    await rejectsWith(loadSFTDataset({ text: JSON.stringify(value), name: 'sft.jsonl' }), datasetError({ file: 'sft.jsonl', line: 1, field }, re), JSON.stringify(value));
  }
});

test('preferences: standard and conversational pairs; the brief\'s missing-field message; identical pairs counted and droppable', async () => {
  const text = jsonl(
    { prompt: 'Sky?', chosen: ' blue', rejected: ' green' },
    { prompt: [{ role: 'user', content: 'Sky?' }], chosen: [{ role: 'assistant', content: 'blue' }], rejected: [{ role: 'assistant', content: 'red' }] },
    { prompt: 'Same?', chosen: ' yes', rejected: ' yes' },
  );
  const ds = await loadPreferenceDataset({ text, name: 'prefs.jsonl' });
  assert.equal(ds.records, [
    { prompt: 'Sky?', chosen: ' blue', rejected: ' green' },
    { prompt: '<|user|>\nSky?\n<|assistant|>\n', chosen: 'blue', rejected: 'red' },
    { prompt: 'Same?', chosen: ' yes', rejected: ' yes' },
  ]);
  assert.is(ds.identical, 1);
  const { records, dropped } = dropIdenticalPairs(ds.records);
  assert.is(dropped, 1);
  assert.equal(records, ds.records.slice(0, 2));

  const bad = jsonl({ prompt: 'a', chosen: 'b', rejected: 'c' }, { prompt: 'a', chosen: 'b', rejected: 'c' }, { prompt: 'a', chosen: 'b' });
  const e = await errorFrom(loadPreferenceDataset({ text: bad, name: 'prefs.jsonl' }));
  assert.is(e.message, 'prefs.jsonl line 3: field "rejected" is missing; each line needs {prompt, chosen, rejected}');
  assert.equal([e.file, e.line, e.field], ['prefs.jsonl', 3, 'rejected']);
  await rejectsWith(
    loadPreferenceDataset({ text: jsonl({ prompt: 'a', chosen: 1, rejected: 'c' }), name: 'p.jsonl' }),
    datasetError({ file: 'p.jsonl', line: 1, field: 'chosen' }, /field "chosen" must be a string or a list with one assistant message, got 1/),
    'chosen a number',
  );
});

test('prompts: strings and conversations; arrays of plain strings', async () => {
  const ds = await loadPromptDataset({ text: jsonl({ prompt: 'Once upon' }, { prompt: [{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }] }) });
  assert.equal(ds.records, [{ prompt: 'Once upon' }, { prompt: '<|system|>\nS\n<|user|>\nU\n<|assistant|>\n' }]);
  assert.equal(promptDataset(['a', { prompt: 'b' }]).records, [{ prompt: 'a' }, { prompt: 'b' }]);
  await rejectsWith(loadPromptDataset({ text: jsonl({ query: 'x' }), name: 'q.jsonl' }), datasetError({ file: 'q.jsonl', line: 1, field: 'prompt' }, /^q\.jsonl line 1: field "prompt" is missing; each line needs \{prompt\}$/), 'no prompt');
});

test('skip_bad_lines: bad JSON and bad fields are skipped and counted, with their lines; off, the first stops the load', async () => {
  const text = ['{"prompt":"a","completion":"1"}', '{not json', '', '{"prompt":"b"}', '[1]', '{"prompt":"c","completion":"3"}', '{"prompt":"d","completion":4}'].join('\n');
  await rejectsWith(loadSFTDataset({ text, name: 'mixed.jsonl' }), datasetError({ file: 'mixed.jsonl', line: 2 }, /not valid JSON/), 'off');
  const ds = await loadSFTDataset({ text, name: 'mixed.jsonl' }, { skip_bad_lines: true });
  assert.equal(ds.records, [{ prompt: 'a', completion: '1' }, { prompt: 'c', completion: '3' }]);
  assert.is(ds.skipped, 4);
  assert.equal(ds.skippedErrors.map((e) => [e.line, e.field]), [[2, undefined], [4, 'completion'], [5, undefined], [7, 'completion']]);
  const summary = describeSkipped(ds)!;
  assert.match(summary, /^mixed\.jsonl: skipped 4 bad lines \(line 2: not valid JSON .*; line 4: field "completion" is missing.*; line 5: the line is an array.*; line 7: field "completion" must be/);
  assert.is(describeSkipped(await loadSFTDataset({ text: '{"text":"t"}' })), undefined);
});

test('skip_bad_lines: the count covers every skipped line; the errors kept are the first few', async () => {
  const lines = Array.from({ length: SKIPPED_ERRORS_KEPT + 5 }, () => '{"prompt": 1}');
  const ds = await loadPromptDataset({ text: [...lines, '{"prompt":"ok"}'].join('\n'), name: 'p.jsonl' }, { skip_bad_lines: true });
  assert.is(ds.records.length, 1);
  assert.is(ds.skipped, SKIPPED_ERRORS_KEPT + 5);
  assert.is(ds.skippedErrors.length, SKIPPED_ERRORS_KEPT);
  assert.equal(ds.skippedErrors.map((e) => e.line), Array.from({ length: SKIPPED_ERRORS_KEPT }, (_, i) => i + 1));
  assert.match(describeSkipped(ds)!, /; and 5 more\)$/);
});

test('a dataset with no records is an error: an empty file, or every line skipped; limit 0 asks for none', async () => {
  await rejectsWith(loadSFTDataset({ text: '\n\n', name: 'empty.jsonl' }), datasetError({ file: 'empty.jsonl' }, /^empty\.jsonl: no records: the file has no lines with a record$/), 'empty');
  await rejectsWith(
    loadSFTDataset({ text: '{}\n{"prompt": 2}', name: 'bad.jsonl' }, { skip_bad_lines: true }),
    datasetError({ file: 'bad.jsonl' }, /^bad\.jsonl: no records: all 2 lines were bad and skipped \(first: bad\.jsonl line 1: field "prompt" is missing/),
    'all skipped',
  );
  assert.equal((await loadSFTDataset({ text: '{}' }, { limit: 0 })).records, []);
  await rejectsWith(loadSFTDataset({ text: '{}' }, { limit: -1 }), (e) => e instanceof ConfigError && /limit must be an integer ≥ 0/.test(e.message), 'negative limit');
});

test('in-memory arrays: validated like lines, errors name the array and index', () => {
  const ds = sftDataset([{ prompt: 'p', completion: 'c' }, { messages: [{ role: 'assistant', content: 'only' }] }]);
  assert.equal(ds.records, [{ prompt: 'p', completion: 'c' }, { prompt: '<|assistant|>\n', completion: 'only', messages: [{ role: 'assistant', content: 'only' }] }]);
  assert.is(ds.name, 'records');
  const e = throwsError(() => preferenceDataset([{ prompt: 'a', chosen: 'b', rejected: 'c' }, { prompt: 'a', rejected: 'c' }], { name: 'pairs' }));
  assert.is(e.message, 'pairs[1]: field "chosen" is missing; each record needs {prompt, chosen, rejected}');
  assert.equal([e.file, e.line, e.index, e.field], ['pairs', undefined, 1, 'chosen']);
  const skipped = preferenceDataset([{ prompt: 'a', chosen: 'b', rejected: 'b' }, 7, { prompt: 'a', chosen: 'b', rejected: 'c' }], { skip_bad_lines: true });
  assert.is(skipped.records.length, 2);
  assert.is(skipped.identical, 1);
  assert.is(skipped.skipped, 1);
  assert.is(skipped.skippedErrors[0]!.index, 1);
  assert.match(describeSkipped(skipped)!, /^records: skipped 1 bad record \(records\[1\]: the record is 7, not a JSON object/);
  assert.equal(sftDataset([{ text: 'a' }, { text: 'b' }, { text: 'c' }], { limit: 2 }).records.length, 2);
  const empty = throwsError(() => promptDataset([]));
  assert.is(empty.message, 'records: no records: the array is empty');
  const single = throwsError(() => sftRecord({ prompt: 'p' }));
  assert.is(single.message, 'record: field "completion" is missing; each record needs {prompt, completion}, {messages: [{role, content}, ...]} or {text}');
});

const problem = (answer: unknown, solution = `3+5=8\nThe answer is ${String(answer)}`) => ({ question: 'Ann has 3 pens. Gets 5 more. How many pens now?', solution, answer });

test('problems (RLMEC): numbers and numeric strings, integer, negative and decimal answers; extra fields ignored', () => {
  const ds = problemDataset([
    { ...problem(8), id: 'p1' },
    problem(' 8 ', '3+5=8\nThe answer is 8'),
    problem('-2', '3-5=-2\nThe answer is -2'),
    problem(2.5, '5/2=2.5\nThe answer is 2.5'),
    problem('2.50', 'The answer is 2.5.'),
  ]);
  const q = problem(0).question;
  assert.equal(ds.records, [
    { question: q, solution: '3+5=8\nThe answer is 8', answer: 8 },
    { question: q, solution: '3+5=8\nThe answer is 8', answer: 8 },
    { question: q, solution: '3-5=-2\nThe answer is -2', answer: -2 },
    { question: q, solution: '5/2=2.5\nThe answer is 2.5', answer: 2.5 },
    { question: q, solution: 'The answer is 2.5.', answer: 2.5 },
  ]);
  assert.is(ds.skipped, 0);
  assert.is(ds.name, 'records');
  // The solution's last "The answer is" is the one read, as for the policy's samples.
  assert.is(problemRecord(problem(9, 'The answer is 4? No.\nThe answer is 9')).answer, 9);
});

test('problems: every bad record names the array, index and field, and says how to fix it', () => {
  const shape = /; each record needs \{question, solution, answer\}$/;
  const cases: [unknown, string | undefined, RegExp][] = [
    [{ question: 'q', solution: 'The answer is 1' }, 'answer', /^probs\[1\]: field "answer" is missing; each record needs \{question, solution, answer\}$/],
    [problem('forty'), 'answer', /^probs\[1\]: field "answer" must be a number like 42 or "42", got "forty"/],
    [problem(''), 'answer', /field "answer" must be a number like 42 or "42", got ""/],
    [problem('3/4'), 'answer', /field "answer" must be a number like 42 or "42", got "3\/4"/],
    [problem(true), 'answer', /field "answer" must be a number like 42 or "42", got true/],
    [problem(null), 'answer', /field "answer" must be a number like 42 or "42", got null/],
    [problem(Infinity), 'answer', /field "answer" must be a number like 42 or "42", got Infinity/],
    [problem('1e3'), 'answer', /field "answer" must be a number like 42 or "42", got "1e3"/],
    [problem(8, '3+5=8\n8'), 'solution', /^probs\[1\]: field "solution" has no "The answer is <number>"; .* so end the solution with "The answer is 8"/],
    [problem(8, '3+5=8\nThe answer is eight'), 'solution', /field "solution" has no "The answer is <number>".*end the solution with "The answer is 8"/],
    [problem(8, '3+5=7\nThe answer is 7'), 'solution', /^probs\[1\]: field "solution" says "The answer is 7" but field "answer" is 8; correct whichever is wrong so they agree/],
    [problem(2, 'The answer is 2.5'), 'solution', /field "solution" says "The answer is 2\.5" but field "answer" is 2;/],
    [{ solution: 'The answer is 1', answer: 1 }, 'question', /field "question" is missing/],
    [{ question: ['q'], solution: 'The answer is 1', answer: 1 }, 'question', /field "question" must be a string, got an array/],
    [{ question: 'q', solution: 1, answer: 1 }, 'solution', /field "solution" must be a string, got 1/],
    ['The answer is 1', undefined, /^probs\[1\]: the record is "The answer is 1", not a JSON object/],
  ];
  for (const [value, field, re] of cases) {
    const e = throwsError(() => problemDataset([problem(8), value], { name: 'probs' }));
    assert.equal([e.file, e.index, e.line, e.field], ['probs', 1, undefined, field], JSON.stringify(value));
    assert.match(e.message, re, JSON.stringify(value));
    assert.match(e.message, shape, JSON.stringify(value));
  }
});

test('problems: skip_bad_lines skips and counts bad records; limit stops early; a line of a JSONL text names its line', async () => {
  const ds = problemDataset([problem(8), problem('forty'), problem(8, '3+5=9\nThe answer is 9'), 4, problem('5', '2+3=5\nThe answer is 5')], { skip_bad_lines: true });
  assert.equal(ds.records.map((r) => r.answer), [8, 5]);
  assert.is(ds.skipped, 3);
  assert.equal(ds.skippedErrors.map((e) => [e.index, e.field]), [[1, 'answer'], [2, 'solution'], [3, undefined]]);
  assert.match(describeSkipped(ds)!, /^records: skipped 3 bad records \(records\[1\]: field "answer" must be a number/);
  assert.is(problemDataset([problem(8), problem('forty')], { limit: 1 }).records.length, 1);
  const text = jsonl(problem(8), problem(8), { question: 'q', solution: 'The answer is 1', answer: 'one' });
  await rejectsWith(
    loadProblemDataset({ text, name: 'problems.jsonl' }),
    datasetError({ file: 'problems.jsonl', line: 3, field: 'answer' }, /^problems\.jsonl line 3: field "answer" must be a number like 42 or "42", got "one"; each line needs \{question, solution, answer\}$/),
    'bad answer on line 3',
  );
});

test('rewrites (RLMEC teacher data): three strings kept exactly; each missing or non-string field named', async () => {
  const good = { question: 'Q?', prediction: '3+5=9\nThe answer is 9 ', rewrite: '3+5=8\nThe answer is 8', teacher: 'big-model' };
  const ds = rewriteDataset([good]);
  assert.equal(ds.records, [{ question: 'Q?', prediction: '3+5=9\nThe answer is 9 ', rewrite: '3+5=8\nThe answer is 8' }]);
  for (const field of ['question', 'prediction', 'rewrite'] as const) {
    const missing = throwsError(() => rewriteDataset([good, { ...good, [field]: undefined }], { name: 'rw' }));
    assert.is(missing.message, `rw[1]: field "${field}" is missing; each record needs {question, prediction, rewrite}`);
    assert.equal([missing.index, missing.field], [1, field]);
    const wrong = throwsError(() => rewriteDataset([{ ...good, [field]: 7 }]));
    assert.match(wrong.message, new RegExp(`^records\\[0\\]: field "${field}" must be a string, got 7; each record needs`));
  }
  const skipped = rewriteDataset([good, { question: 'Q?' }, good], { skip_bad_lines: true });
  assert.equal([skipped.records.length, skipped.skipped, skipped.skippedErrors[0]!.field], [2, 1, 'prediction']);
  await rejectsWith(
    loadRewriteDataset({ text: jsonl(good, good, { question: 'Q?', prediction: 'p' }), name: 'rewrites.jsonl' }),
    datasetError({ file: 'rewrites.jsonl', line: 3, field: 'rewrite' }, /^rewrites\.jsonl line 3: field "rewrite" is missing; each line needs \{question, prediction, rewrite\}$/),
    'missing rewrite on line 3',
  );
});

test.run();
