// The run's JSON Lines logs (metrics.jsonl, rollouts.jsonl): one object per line, each with
// the "step" it belongs to. Lines are appended; on resume a log is cut back to the steps the
// restored checkpoint covers, so the resumed run appends exactly what an uninterrupted one would.
import { CheckpointError, ConfigError } from '../../errors.js';
import type { RunStorage } from './run_storage.js';

const encoder = new TextEncoder();

function checkStep(what: string, step: number): void {
  if (!Number.isSafeInteger(step) || step < 0) throw new ConfigError(`${what}: step must be a non-negative integer, got ${JSON.stringify(step)}`);
}

/** One line `{"step": 12, ...fields}\n`; "step" comes first and cannot be overridden by a field. */
export function stepLine(what: string, step: number, fields: object): string {
  checkStep(what, step);
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new ConfigError(`${what}: expected a plain object of values, got ${Array.isArray(fields) ? 'an array' : String(fields)}`);
  }
  if ('step' in fields && (fields as { step: unknown }).step !== step) {
    throw new ConfigError(`${what}: the row's own "step" (${JSON.stringify((fields as { step: unknown }).step)}) differs from the step ${step} it is logged under`);
  }
  let text: string;
  try {
    text = JSON.stringify({ step, ...fields });
  } catch (e) {
    throw new ConfigError(`${what}: the row is not JSON-serialisable (${e instanceof Error ? e.message : String(e)})`);
  }
  return `${text}\n`;
}

/** Metric values must be numbers; NaN and ±Infinity are written as null (JSON has no such numbers). */
export function metricsLine(step: number, metrics: Record<string, number>): string {
  for (const [key, value] of Object.entries(metrics ?? {})) {
    if (typeof value !== 'number') throw new ConfigError(`run.log: metric ${key} is ${JSON.stringify(value)}; metrics are numbers`);
  }
  return stepLine('run.log', step, metrics);
}

/**
 * Keeps the lines of `file` with step ≤ `keepThrough` (none when undefined), and drops a
 * partial last line (a crash mid-append). Rewrites the file atomically, and only when
 * something goes. Returns the number of lines removed.
 */
export async function cutBackStepLog(storage: RunStorage, file: string, keepThrough: number | undefined): Promise<number> {
  const bytes = await storage.read(file);
  if (!bytes || bytes.length === 0) return 0;
  const text = new TextDecoder().decode(bytes);
  const end = text.lastIndexOf('\n') + 1; // after the last complete line
  const lines = text.slice(0, end).split('\n').slice(0, -1);
  const kept: string[] = [];
  lines.forEach((line, i) => {
    let step: unknown;
    try {
      step = (JSON.parse(line) as { step?: unknown }).step;
    } catch {
      step = undefined;
    }
    if (typeof step !== 'number') {
      throw new CheckpointError(
        `${storage.location}/${file} line ${i + 1} is not a JSON object with a "step" number: ${JSON.stringify(line.slice(0, 60))}. ` +
          'The file was edited or damaged; delete that line and resume again, or start a new output_dir.',
        { file },
      );
    }
    if (keepThrough !== undefined && step <= keepThrough) kept.push(line);
  });
  const removed = lines.length - kept.length + (end < text.length ? 1 : 0);
  if (removed > 0) await storage.write(file, encoder.encode(kept.map((l) => `${l}\n`).join('')));
  return removed;
}
