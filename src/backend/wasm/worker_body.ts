/**
 * The source of a WASM worker thread, as a string so it needs no file of its own (bundlers,
 * Deno and browsers all start it from a blob or eval). It works in Node's worker_threads
 * (`require` exists there) and in Web Workers. It instantiates the kernels on the shared
 * memory, then waits on the control block (control_block.ts) for jobs.
 */
import { ARGS_OFFSET, DONE, FAILED, GEN, MAX_ARGS, NARGS, OP, PARTS } from './control_block.js';

export const WORKER_BODY = `
const nodePort = typeof require === 'function' ? require('node:worker_threads').parentPort : null;
const post = (m) => (nodePort ? nodePort.postMessage(m) : self.postMessage(m));
const receive = (fn) => (nodePort ? nodePort.once('message', fn) : (self.onmessage = (e) => { self.onmessage = null; fn(e.data); }));
receive(({ module, memory, control, index, names }) => {
  let exports;
  try {
    exports = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error('abort'); } } }).exports;
  } catch (e) {
    post({ error: String(e) });
    return;
  }
  const c = new Int32Array(control, 0, ${ARGS_OFFSET / 4});
  const args = new Float64Array(control, ${ARGS_OFFSET}, ${MAX_ARGS});
  // Read the generation before saying ready: the first job may be posted the moment the
  // caller hears it, and a worker that read the generation after that would sleep through it.
  let seen = Atomics.load(c, ${GEN});
  post({ ready: true });
  for (;;) {
    Atomics.wait(c, ${GEN}, seen);
    seen = Atomics.load(c, ${GEN});
    if (c[${OP}] < 0) break;
    const parts = c[${PARTS}];
    if (index < parts) {
      try {
        exports[names[c[${OP}]]](...args.subarray(0, c[${NARGS}]), index, parts);
      } catch (e) {
        Atomics.store(c, ${FAILED}, 1);
      }
    }
    Atomics.add(c, ${DONE}, 1);
    Atomics.notify(c, ${DONE});
  }
  if (!nodePort) self.close();
});
`;
