// The training progress display: pure formatting, and when lines are written (fake clock, fake stream).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDuration, formatMetric, formatRate, Progress, progressBar, progressLine, progressLogLine, progressSummary, type ProgressSnapshot } from 'webrlhf';

const test = suite('progress');

const snap = (over: Partial<ProgressSnapshot> = {}): ProgressSnapshot => ({
  label: 'ppo', step: 70, total: 100, steps: 70, elapsedMs: 28_000, tokens: 33_600, metric: { name: 'objective/scores', value: 0.42 }, ...over,
});

/** A stream that records writes, and a clock the test moves. */
function fake(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  let now = 1000;
  return {
    writes,
    stream: { write: (s: string) => void writes.push(s), isTTY, ...(columns ? { columns } : {}) },
    now: () => now,
    advance: (ms: number) => void (now += ms),
  };
}

test('durations, rates and metric values', () => {
  assert.equal([0, 12, 59.6, 75, 600, 3723].map((s) => formatDuration(s, 'clock')), ['0:00', '0:12', '1:00', '1:15', '10:00', '1:02:03']);
  assert.equal([0, 12, 75, 3723].map((s) => formatDuration(s, 'words')), ['0s', '12s', '1m15s', '1h02m']);
  // A run's wall time: 59.6 s rounds to a whole minute, never "0 min 60 s".
  assert.equal([12, 59.6, 295.9, 3723].map((s) => formatDuration(s, 'minutes')), ['0 min 12 s', '1 min 0 s', '4 min 56 s', '62 min 3 s']);
  assert.is(formatDuration(NaN, 'clock'), '--');
  assert.equal([0.25, 9.999, 12.34, 640.2, 999.4, 999.6, 1234, 34_560, 999_960, 1.5e6].map(formatRate), ['0.25', '10.00', '12.3', '640', '999', '1.0k', '1.2k', '34.6k', '1.0M', '1.5M']);
  assert.equal([0.42, -1.5, 12.345, 123.45, 0, 2e-5, 3e6, NaN, -Infinity].map(formatMetric), ['0.420', '-1.50', '12.3', '123.5', '0', '2.00e-5', '3.00e+6', 'NaN', '-Infinity']);
  assert.equal([progressBar(0, 10, 4), progressBar(5, 10, 4), progressBar(10, 10, 4), progressBar(12, 10, 4)], ['░░░░', '██░░', '████', '████']);
});

test('terminal line: bar, count, tok/s, ETA, key metric; fits the width', () => {
  // 70 steps in 28 s: 0.4 s a step, 30 left → 12 s; 33 600 tokens / 28 s = 1.2k tok/s.
  const line = progressLine(snap(), 80);
  assert.is(line, `ppo  ${'█'.repeat(14)}${'░'.repeat(6)}  70/100  1.2k tok/s  ETA 0:12  objective/scores 0.420`);
  assert.is(line.length, 79, 'the bar takes the room left, up to the last column but one');
  assert.is(progressLine(snap({ tokens: undefined, metric: undefined }), 80), `ppo  ${'█'.repeat(21)}${'░'.repeat(9)}  70/100  2.50 it/s  ETA 0:12`);
  assert.is(progressLine(snap({ step: 0, steps: 0, elapsedMs: 0, tokens: undefined, metric: undefined }), 40), `ppo  ${'░'.repeat(19)}  0/100  ETA --`);
});

test('narrow terminals: the bar shrinks, then the rate, the bar and the metric go', () => {
  const widths = [80, 60, 50, 40, 30, 20, 8];
  const lines = widths.map((w) => progressLine(snap(), w));
  lines.forEach((l, i) => assert.ok(l.length <= widths[i]! - 1, `${widths[i]}: ${JSON.stringify(l)} is too long`));
  assert.match(lines[0]!, /^ppo  █+░+  70\/100  1\.2k tok\/s  ETA 0:12  objective\/scores 0\.420$/);
  assert.is(lines[1]!, `ppo  ${'█'.repeat(8)}${'░'.repeat(4)}  70/100  ETA 0:12  objective/scores 0.420`);
  assert.is(lines[2]!, 'ppo  70/100  ETA 0:12  objective/scores 0.420');
  assert.is(lines[3]!, 'ppo  70/100  ETA 0:12');
  assert.is(lines[4]!, 'ppo  70/100  ETA 0:12');
  assert.is(lines[5]!, 'ppo  70/100');
  assert.is(lines[6]!, 'ppo  70');
});

test('log line and summary', () => {
  assert.is(progressLogLine(snap()), 'ppo step 70/100 | 1.2k tok/s | ETA 12s | objective/scores 0.420');
  assert.is(progressLogLine(snap({ step: 0, steps: 0, elapsedMs: 0, metric: undefined })), 'ppo step 0/100');
  assert.is(progressSummary(snap({ step: 100, steps: 100, elapsedMs: 83_000, tokens: 99_600 })), 'ppo done: 100/100 steps in 1m23s | 1.2k tok/s | objective/scores 0.420');
  assert.is(progressSummary(snap({ label: 'dpo', tokens: undefined, metric: undefined })), 'dpo stopped: 70/100 steps in 28s | 2.50 it/s');
});

test('not a terminal: a line every N steps, or when the interval has passed, the last step, then the summary', () => {
  const f = fake(false);
  const p = new Progress({ label: 'sft', total: 10, stream: f.stream, keyMetric: 'loss', now: f.now, every: 4, intervalMs: 5000 });
  for (let step = 1; step <= 6; step++) {
    f.advance(500);
    p.update(step, { tokens: 100, metrics: { loss: 1 / step, other: 9 } });
  }
  assert.equal(f.writes, ['sft step 4/10 | 200 tok/s | ETA 3s | loss 0.250\n']);
  f.advance(6000); // a slow step: a line although only 3 steps passed
  p.update(7, { tokens: 100 });
  assert.is(f.writes.length, 2);
  assert.is(f.writes[1], 'sft step 7/10 | 77.8 tok/s | ETA 4s | loss 0.167\n');
  for (let step = 8; step <= 10; step++) {
    f.advance(500);
    p.update(step, { tokens: 100, metrics: { loss: 0.1 } });
  }
  assert.is(f.writes.length, 3);
  assert.is(f.writes[2], 'sft step 10/10 | 95.2 tok/s | ETA 0s | loss 0.100\n');
  p.finish();
  p.finish();
  assert.equal(f.writes.slice(3), ['sft done: 10/10 steps in 11s | 95.2 tok/s | loss 0.100\n']);
});

test('terminal: one line redrawn in place at most every redrawMs, cleared for messages and the summary', () => {
  const f = fake(true, 80);
  const p = new Progress({ label: 'ppo', total: 100, stream: f.stream, keyMetric: 'objective/scores', now: f.now, start: 40 });
  f.advance(50);
  p.update(41, { tokens: 480, metrics: { 'objective/scores': 0.1 } });
  assert.is(f.writes.length, 1, 'the first update draws');
  f.advance(50);
  p.update(42, { tokens: 480 });
  assert.is(f.writes.length, 1, 'not again within 100 ms');
  f.advance(60);
  p.update(43, { tokens: 480, metrics: { 'objective/scores': 0.2 } });
  assert.is(f.writes.length, 2);
  // A resumed run counts from its start: 3 steps, 1440 tokens in 160 ms; 57 steps left.
  assert.match(f.writes[1]!, /^\r\x1b\[2Kppo  █+░+  43\/100  9\.0k tok\/s  ETA 0:03  objective\/scores 0\.200$/);
  assert.ok(f.writes.every((w) => !w.includes('\n')), 'no newline while drawing');
  p.print('saved checkpoint-00000043');
  assert.is(f.writes[2], '\r\x1b[2Ksaved checkpoint-00000043\n');
  assert.match(f.writes[3]!, /^\r\x1b\[2Kppo  █+░+  43\/100/);
  p.finish();
  assert.is(f.writes.at(-1), '\r\x1b[2Kppo stopped: 43/100 steps in 0s | 9.0k tok/s | objective/scores 0.200\n');
  for (const w of f.writes) assert.ok(w.replace(/^\r\x1b\[2K/, '').replace(/\n$/, '').length <= 79, `${JSON.stringify(w)} fits 80 columns`);
});

test.run();
