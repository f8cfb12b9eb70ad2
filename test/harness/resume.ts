// The exact-resume check every trainer gets: a run straight to the end, and the same run
// cancelled after a checkpoint and resumed, must leave byte-identical run folders.
import * as assert from 'uvu/assert';
import { memoryRunStorage, openRun, type MemoryRunStorage, type Trainer } from 'webrlhf';

/** One fresh trainer (new models, same seeds) and what frees it. */
export interface ResumableRun {
  trainer: Trainer;
  dispose(): void;
}

export interface ResumeCheck {
  /** The step after which the interrupted run is cancelled. */
  stopAfter: number;
  /** The checkpoint the resumed run must start from (the newest at or before stopAfter). */
  resumedFrom: number;
}

async function train(start: () => Promise<ResumableRun>, storage: MemoryRunStorage, resume: boolean, stopAfter?: number) {
  const { trainer, dispose } = await start();
  const stop = new AbortController();
  try {
    const run = await openRun(storage, { config: trainer.config, resume });
    return await trainer.train({ run, signal: stop.signal, onStep: (e) => e.step === stopAfter && stop.abort() });
  } finally {
    dispose();
  }
}

/**
 * Runs `start()`'s trainer to the end; runs it again cancelled after `stopAfter` steps, then
 * resumes it in a new trainer. The two run folders must hold the same files, byte for byte:
 * metrics.jsonl (so the config should log every step), every checkpoint written after the
 * resume (models, optimizer moments, extra parameters) and final/.
 */
export async function assertResumesExactly(start: () => Promise<ResumableRun>, o: ResumeCheck): Promise<void> {
  const straight = memoryRunStorage();
  const total = (await train(start, straight, false)).step;
  assert.ok(o.stopAfter < total, `stopAfter ${o.stopAfter} must come before the last step ${total}`);

  const interrupted = memoryRunStorage();
  const cancelled = await train(start, interrupted, false, o.stopAfter).then(() => undefined, (e: unknown) => e);
  assert.is((cancelled as Error | undefined)?.name, 'AbortError', 'an aborted signal stops the loop');
  assert.ok(![...interrupted.files.keys()].some((f) => f.startsWith('final/')), 'a cancelled run writes no final/');
  const resumed = await train(start, interrupted, true);
  assert.is(resumed.resumedFrom, o.resumedFrom, 'the resumed run starts from the newest checkpoint');
  assert.is(resumed.step, total);

  const text = (files: Map<string, Uint8Array>, name: string) => new TextDecoder().decode(files.get(name));
  assert.is(text(interrupted.files, 'metrics.jsonl').trim().split('\n').length, total, 'one metrics line per step (logging_steps: 1)');
  assert.equal([...interrupted.files.keys()].sort(), [...straight.files.keys()].sort(), 'the same files');
  for (const [name, bytes] of straight.files) {
    const got = interrupted.files.get(name)!;
    if (name.endsWith('.jsonl') || name.endsWith('.json')) assert.is(text(interrupted.files, name), text(straight.files, name), name);
    else assert.ok(got.length === bytes.length && got.every((b, i) => b === bytes[i]), `${name} differs from the uninterrupted run's`);
  }
}
