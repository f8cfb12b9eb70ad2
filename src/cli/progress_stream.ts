// Where the CLI's progress bars go.
import type { ProgressStream } from '../training/progress.js';

/** stderr: redrawn in place on a terminal; else whole lines through console.error (which tests capture). */
export function progressStream(): ProgressStream {
  const tty = !!process.stderr.isTTY;
  return {
    isTTY: tty,
    columns: process.stderr.columns,
    write: (text: string) => void (tty ? process.stderr.write(text) : console.error(text.replace(/\n$/, ''))),
  };
}
