import { exec } from 'uvu';
import { disposeLegRuntime } from './runtime.js';

/**
 * Runs every queued suite, frees the leg's device, and reports: Node/Deno through the exit
 * code, a browser page through window.__webrlhfTestDone (read by test/run.mjs).
 */
export async function finish(): Promise<void> {
  timeSuites();
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

/**
 * Prints each suite's seconds under its uvu line ("suite seconds 12.3"), which test/run.mjs
 * collects into every leg's slowest-suites line: the suite budget is what keeps CI short.
 */
function timeSuites(): void {
  const queue = (globalThis as { UVU_QUEUE?: unknown[][] }).UVU_QUEUE ?? [];
  for (const group of queue) {
    // A group is [file name, ...suite runners]; uvu shifts the name off before running them.
    for (let i = 1; i < group.length; i++) {
      const run = group[i] as () => Promise<unknown>;
      group[i] = async () => {
        const t0 = performance.now();
        try {
          return await run();
        } finally {
          console.log(`  suite seconds ${((performance.now() - t0) / 1000).toFixed(1)}`);
        }
      };
    }
  }
}
