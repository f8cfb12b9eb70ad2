import { exec } from 'uvu';
import { disposeLegRuntime } from './runtime.js';

/**
 * Runs every queued suite, frees the leg's device, and reports: Node/Deno through the exit
 * code, a browser page through window.__webrlhfTestDone (read by test/run.mjs).
 */
export async function finish(): Promise<void> {
  let crashed: unknown;
  try {
    await exec();
  } catch (e) {
    crashed = e;
    console.log(`\n  FATAL: the test run stopped: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  }
  await disposeLegRuntime().catch(() => {});
  const g = globalThis as { process?: { exitCode?: number; exit(c: number): void }; Deno?: { exit(c: number): void }; __webrlhfTestDone?: unknown };
  g.__webrlhfTestDone = { crashed: crashed ? String(crashed) : null };
  const code = crashed ? 1 : (g.process?.exitCode ?? 0);
  if (g.Deno) g.Deno.exit(code);
  else if (g.process?.exit) g.process.exit(code);
}
