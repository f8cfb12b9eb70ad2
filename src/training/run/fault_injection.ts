// Testing knob, not a setting: WEBRLHF_FAULT_CHECKPOINT_PAUSE_MS=N makes every checkpoint
// (and final/) write sleep N ms after each file it writes, so a test can SIGKILL the process
// while a checkpoint is half written, deterministically. Unset (the default), it costs nothing.
import { ConfigError } from '../../errors.js';
import { platform } from '../../runtime/platform.js';

export const CHECKPOINT_PAUSE_ENV = 'WEBRLHF_FAULT_CHECKPOINT_PAUSE_MS';

/** Milliseconds to sleep after each file of a checkpoint write (0: no pause). */
export function checkpointPauseMs(): number {
  const text = platform().env(CHECKPOINT_PAUSE_ENV);
  if (text === undefined || text === '') return 0;
  const ms = Number(text);
  if (!Number.isFinite(ms) || ms < 0) {
    throw new ConfigError(`${CHECKPOINT_PAUSE_ENV} is ${JSON.stringify(text)}; it is a testing knob and must be a number of milliseconds ≥ 0 (or unset)`);
  }
  return ms;
}

/** The pause between checkpoint files: a function that sleeps, or one that returns at once. */
export function checkpointPause(): () => Promise<void> {
  const ms = checkpointPauseMs();
  return ms > 0 ? () => new Promise((resolve) => setTimeout(resolve, ms)) : async () => {};
}
