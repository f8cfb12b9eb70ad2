import { WasmLoadError } from '../../errors.js';
import { ARGS_OFFSET, DONE, FAILED, GEN, MAX_ARGS, NARGS, OP, PARTS } from './control_block.js';
import { WORKER_BODY } from './worker_body.js';

/** A started worker, whatever the runtime (worker_threads in Node, Web Workers elsewhere). */
export interface WorkerHandle {
  post(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  terminate(): void;
}

/** Starts a worker running `source` (plain JavaScript, no imports). */
export type WorkerSpawner = (source: string) => WorkerHandle;

/**
 * Runs one kernel call split into parts over N threads: the calling thread takes part 0 and
 * each worker one more, all on the same shared WebAssembly memory. Jobs are signalled with
 * Atomics on a shared control block (no postMessage per call), and the caller blocks until
 * every part is done, so a parallel kernel call is as synchronous as a plain one.
 */
export class WasmThreadPool {
  readonly threads: number;
  private readonly control: Int32Array;
  private readonly args: Float64Array;
  private readonly workers: WorkerHandle[];
  private readonly names: readonly string[];
  /** Atomics.wait is not allowed on a browser's main thread: spin there instead. */
  private readonly canBlock: boolean;

  private constructor(threads: number, control: SharedArrayBuffer, workers: WorkerHandle[], names: readonly string[], canBlock: boolean) {
    this.threads = threads;
    this.control = new Int32Array(control, 0, ARGS_OFFSET / 4);
    this.args = new Float64Array(control, ARGS_OFFSET, MAX_ARGS);
    this.workers = workers;
    this.names = names;
    this.canBlock = canBlock;
  }

  static async start(
    module: WebAssembly.Module, memory: WebAssembly.Memory, threads: number, names: readonly string[],
    spawn: WorkerSpawner, canBlock: boolean,
  ): Promise<WasmThreadPool> {
    const control = new SharedArrayBuffer(ARGS_OFFSET + MAX_ARGS * 8);
    const workers: WorkerHandle[] = [];
    const ready: Promise<void>[] = [];
    try {
      for (let index = 1; index < threads; index++) {
        const worker = spawn(WORKER_BODY);
        workers.push(worker);
        ready.push(new Promise((resolve, reject) => {
          worker.onMessage((m) => {
            const msg = m as { ready?: boolean; error?: string };
            if (msg.ready) resolve();
            else reject(new WasmLoadError(`WASM worker ${index} failed to start: ${msg.error ?? 'unknown error'}`));
          });
        }));
        worker.post({ module, memory, control, index, names });
      }
      await Promise.all(ready);
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    return new WasmThreadPool(threads, control, workers, names, canBlock);
  }

  /**
   * Calls export `name` with `args` followed by (part, parts) on every thread, parts ≤ threads.
   * `local` is the calling thread's own instance of the export.
   */
  run(name: string, local: (...a: number[]) => void, args: readonly number[], parts: number): void {
    const c = this.control;
    const op = this.names.indexOf(name);
    if (op < 0 || args.length > MAX_ARGS) throw new Error(`thread pool: cannot run ${name}`);
    this.args.set(args);
    c[OP] = op;
    c[NARGS] = args.length;
    c[PARTS] = parts;
    Atomics.store(c, DONE, 0);
    Atomics.store(c, FAILED, 0);
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    local(...args, 0, parts);
    const workers = this.workers.length;
    for (let done = Atomics.load(c, DONE); done < workers; done = Atomics.load(c, DONE)) {
      if (this.canBlock) Atomics.wait(c, DONE, done);
    }
    if (Atomics.load(c, FAILED)) throw new WasmLoadError(`a WebAssembly kernel (${name}) failed on a worker thread: this is a bug in webrlhf, please report it with the op and shapes`);
  }

  dispose(): void {
    const c = this.control;
    c[OP] = -1;
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    for (const w of this.workers) w.terminate();
  }
}
