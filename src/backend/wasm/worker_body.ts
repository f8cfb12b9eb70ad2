/**
 * The source of a WASM worker thread, as a string so it needs no file of its own (bundlers,
 * Deno and browsers all start it from a blob or eval). It works in Node's worker_threads
 * (`require` exists there) and in Web Workers. It instantiates the kernels on the shared
 * memory, then waits on the control block for jobs: see thread_pool.ts for the layout.
 */
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
  const c = new Int32Array(control, 0, 16);
  const args = new Float64Array(control, 64, 32);
  // Read the generation before saying ready: the first job may be posted the moment the
  // caller hears it, and a worker that read the generation after that would sleep through it.
  let seen = Atomics.load(c, 0);
  post({ ready: true });
  for (;;) {
    Atomics.wait(c, 0, seen);
    seen = Atomics.load(c, 0);
    if (c[1] < 0) break;
    const parts = c[3];
    if (index < parts) {
      try {
        exports[names[c[1]]](...args.subarray(0, c[2]), index, parts);
      } catch (e) {
        Atomics.store(c, 5, 1);
      }
    }
    Atomics.add(c, 4, 1);
    Atomics.notify(c, 4);
  }
  if (!nodePort) self.close();
});
`;
