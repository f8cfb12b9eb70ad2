/**
 * Layout of the shared control block through which the calling thread hands kernel calls
 * to WASM workers: Int32 slots first, Float64 arguments from ARGS_OFFSET. Shared by the pool
 * (thread_pool.ts) and the worker's source (worker_body.ts), so the two cannot drift.
 */
export const GEN = 0; // bumped once per job; workers wait on it
export const OP = 1; // index into the export names; -1 = quit
export const NARGS = 2;
export const PARTS = 3;
export const DONE = 4; // workers that finished the current job
export const FAILED = 5; // set by a worker whose kernel threw
export const ARGS_OFFSET = 64;
export const MAX_ARGS = 32;
