// Yielding to the event loop. A backend whose work finishes synchronously (WASM) resolves
// every await as a microtask, so a long loop would never let a task run: no 'message' event
// reaches a Web Worker, no click reaches a page, and an AbortSignal set by either never
// fires. Loops that run for long (the trainers' steps) await nextTask() between iterations.

type Immediate = (callback: () => void) => unknown;

/** Resolves in a new task: setImmediate (Node), else a MessageChannel message (no 4 ms timer clamp), else setTimeout. */
export function nextTask(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: Immediate }).setImmediate;
  if (immediate) return new Promise((resolve) => void immediate(resolve));
  if (typeof MessageChannel !== 'undefined') {
    const { port1, port2 } = new MessageChannel();
    return new Promise((resolve) => {
      port1.onmessage = () => {
        port1.close();
        port2.close();
        resolve();
      };
      port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}
