/**
 * Typed errors. Every error a user can cause says what went wrong and what to change;
 * `code` is stable so programs can branch on it without parsing messages.
 */
export class WebRLHFError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Operand shapes that do not fit the op. Names both shapes. */
export class ShapeError extends WebRLHFError {
  constructor(message: string) {
    super('SHAPE', message);
  }
}

/** WebGPU was required but no usable adapter/device was found. Lists what was tried. */
export class NoGPUError extends WebRLHFError {
  readonly attempts: readonly string[];
  constructor(message: string, attempts: readonly string[]) {
    super('NO_GPU', message);
    this.attempts = attempts;
  }
}

/** A buffer or binding larger than the device allows, caught before any dispatch. */
export class DeviceLimitError extends WebRLHFError {
  constructor(message: string) {
    super('DEVICE_LIMIT', message);
  }
}

/** A WebGPU validation or out-of-memory error, rethrown with the op that caused it. */
export class GPUOpError extends WebRLHFError {
  readonly op: string;
  constructor(op: string, kind: 'validation' | 'out-of-memory' | 'internal', message: string) {
    super(kind === 'out-of-memory' ? 'GPU_OUT_OF_MEMORY' : 'GPU_VALIDATION', `${op}: WebGPU ${kind} error: ${message}`);
    this.op = op;
  }
}

/** The GPU device was lost (driver reset, tab backgrounded, destroy()). Create a new runtime. */
export class DeviceLostError extends WebRLHFError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super('DEVICE_LOST', `WebGPU device lost (${reason}): ${message || 'no message'}. Create a new runtime with createRuntime() to continue.`);
    this.reason = reason;
  }
}

/**
 * An op whose family has no implementation on this backend (a new backend may start with the
 * core family alone). Names the family and the backends that have one.
 */
export class UnsupportedOpError extends WebRLHFError {
  readonly family: string;
  constructor(op: string, family: string, backend: string, available: readonly string[]) {
    super(
      'UNSUPPORTED_OP',
      `${op}: the '${family}' ops have no ${backend} implementation` +
        (available.length ? `; use a backend that has one (${available.join(', ')})` : ''),
    );
    this.family = family;
  }
}

/**
 * The host and a kernel disagree: a binding, uniform field or WASM parameter that one side
 * names and the other lacks. A bug in webrlhf (or in an op family you wrote); the message
 * names the kernel and both sides' names.
 */
export class KernelInterfaceError extends WebRLHFError {
  constructor(message: string) {
    super('KERNEL_INTERFACE', message);
  }
}

/** A tensor used after dispose(), or with a backend that did not create it. */
export class TensorStateError extends WebRLHFError {
  constructor(message: string) {
    super('TENSOR_STATE', message);
  }
}

/**
 * A tensor of a storage dtype the op cannot take: 16-bit (bf16, f16) tensors hold frozen
 * weights, which only the ops that read weights accept, and which no op writes.
 */
export class DTypeError extends WebRLHFError {
  constructor(message: string) {
    super('DTYPE', message);
  }
}

/** An option value the API does not accept. */
export class ConfigError extends WebRLHFError {
  constructor(message: string) {
    super('CONFIG', message);
  }
}

/** The WebAssembly backend could not be loaded or instantiated. */
export class WasmLoadError extends WebRLHFError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WASM_LOAD', message, options);
  }
}

/** A batch of token sequences that the model cannot take (ragged rows, ids out of range, too long). */
export class BatchError extends WebRLHFError {
  constructor(message: string) {
    super('BATCH', message);
  }
}

/** The loss became NaN or ±Inf at `step`; the parameters were left as they were before it. */
export class NonFiniteLossError extends WebRLHFError {
  readonly step: number;
  readonly loss: number;
  constructor(step: number, loss: number) {
    super(
      'NON_FINITE_LOSS',
      `the loss at step ${step} is ${loss}; the update was skipped and the parameters are as they were before step ${step}. ` +
      'Lower the learning rate, enable gradient clipping (max_grad_norm), or check the batch for empty or extreme rows.',
    );
    this.step = step;
    this.loss = loss;
  }
}

/**
 * A checkpoint file (safetensors, config.json, a model folder) that cannot be read or does
 * not fit the model. `tensor` and `file` name what was wrong where they are known; the
 * message says the problem and what to do.
 */
export class CheckpointError extends WebRLHFError {
  readonly tensor?: string;
  readonly file?: string;
  constructor(message: string, where: { tensor?: string; file?: string } = {}, options?: { cause?: unknown }) {
    super('CHECKPOINT', message, options);
    if (where.tensor !== undefined) this.tensor = where.tensor;
    if (where.file !== undefined) this.file = where.file;
  }
}

/**
 * A tokenizer file that cannot be read or honoured (tokenizer.json, vocab.json + merges.txt,
 * tokenizer_config.json), or token ids a tokenizer cannot decode. `file` and `field` name
 * what was wrong where they are known; the message says the problem and what to change.
 */
export class TokenizerError extends WebRLHFError {
  readonly file?: string;
  readonly field?: string;
  constructor(message: string, where: { file?: string; field?: string } = {}, options?: { cause?: unknown }) {
    super('TOKENIZER', message, options);
    if (where.file !== undefined) this.file = where.file;
    if (where.field !== undefined) this.field = where.field;
  }
}

/**
 * A dataset (JSONL file or in-memory records) with a line or record that cannot be used, or a
 * file that cannot be read. `file` names the file (or "records" for arrays); `line` is the
 * 1-based line in the file, `index` the 0-based position in an array, `field` the record's
 * field where one is at fault ("rejected", "messages[2].role").
 */
export class DatasetError extends WebRLHFError {
  readonly file: string;
  readonly line?: number;
  readonly index?: number;
  readonly field?: string;
  constructor(message: string, where: { file: string; line?: number; index?: number; field?: string }, options?: { cause?: unknown }) {
    super('DATASET', message, options);
    this.file = where.file;
    if (where.line !== undefined) this.line = where.line;
    if (where.index !== undefined) this.index = where.index;
    if (where.field !== undefined) this.field = where.field;
  }
}

/**
 * A preference annotation that is not one of the AlpacaFarm codes 0 (draw), 1 (reference wins),
 * 2 (model wins), or an annotator that failed. `index` is the item's position; `prompt` names
 * the item where one is known; `value` is what was found; `cause` is the annotator's error.
 */
export class AnnotatorError extends WebRLHFError {
  readonly index: number;
  readonly value?: unknown;
  readonly prompt?: string;
  constructor(message: string, where: { index: number; value?: unknown; prompt?: string }, options?: { cause?: unknown }) {
    super('ANNOTATOR', message, options);
    this.index = where.index;
    if ('value' in where) this.value = where.value;
    if (where.prompt !== undefined) this.prompt = where.prompt;
  }
}

/**
 * An equivalence function (RLP-SPG clustering) that threw or did not return a boolean for two
 * outputs of one prompt. `prompt`, `a` and `b` are the texts it was given; `cause` is its error.
 */
export class EquivalenceError extends WebRLHFError {
  readonly prompt: string;
  readonly a: string;
  readonly b: string;
  constructor(message: string, where: { prompt: string; a: string; b: string }, options?: { cause?: unknown }) {
    super('EQUIVALENCE', message, options);
    this.prompt = where.prompt;
    this.a = where.a;
    this.b = where.b;
  }
}

/**
 * A reward function (GRPO, RLOO) that threw, returned the wrong number of rewards, or a value
 * that is not a finite number, null, or (a token-level function) one finite number per
 * completion token. `func` is its name; `index` and `prompt` name the completion where one is
 * known; `cause` is its own error.
 */
export class RewardFunctionError extends WebRLHFError {
  readonly func: string;
  readonly index?: number;
  readonly prompt?: string;
  constructor(message: string, where: { func: string; index?: number; prompt?: string }, options?: { cause?: unknown }) {
    super('REWARD_FUNCTION', message, options);
    this.func = where.func;
    if (where.index !== undefined) this.index = where.index;
    if (where.prompt !== undefined) this.prompt = where.prompt;
  }
}
