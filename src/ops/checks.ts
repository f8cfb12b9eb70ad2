// Argument checks the op families share. Every op checks its arguments before any kernel
// runs, so both backends see only well-formed work and fail the same way on bad input.
import { ConfigError, DTypeError, ShapeError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import type { OpFamily } from '../backend/op_family.js';
import { fmt, type Shape } from '../backend/shapes.js';
import { checkOwned, noAlias, type Tensor } from '../backend/tensor.js';

export { noAlias } from '../backend/tensor.js';

/**
 * The backend the tensors live on, after checking they are live and all on it (the first
 * given tensor decides; TensorStateError naming the op otherwise) and stored in f32.
 */
export function backendOf(op: string, ...tensors: (Tensor | undefined)[]): Backend {
  return backendWithWeights(op, {}, ...tensors);
}

/**
 * backendOf for an op that also reads weights, which may be stored in 16 bits (bf16, f16):
 * `weights` by name may be of any dtype, every other tensor must be f32. 16-bit tensors are
 * frozen weights: no op writes one, and only the ops that read weights read one.
 */
export function backendWithWeights(op: string, weights: Readonly<Record<string, Tensor>>, ...tensors: (Tensor | undefined)[]): Backend {
  const all = [...Object.values(weights), ...tensors];
  const first = all.find((t) => t !== undefined);
  if (!first) throw new ShapeError(`${op}: no tensor given`);
  checkOwned(op, first.backend, all);
  for (const t of tensors) {
    if (t && t.dtype !== 'f32') {
      const may = Object.keys(weights);
      throw new DTypeError(
        `${op}: ${t} is stored in ${t.dtype}; 16-bit tensors hold frozen weights, which no op writes` +
        `${may.length ? ` and ${op} reads only as ${may.join(', ')}` : ` and ${op} does not read`} (matmul reads them as B, embedding and gatherRows as tables): ` +
        'give an f32 tensor here, or load the model in f32 to train it',
      );
    }
  }
  return first.backend;
}

/** The family's kernels on the tensors' backend (backendOf's checks first). */
export function kernelsOf<K>(op: string, family: OpFamily<K>, ...tensors: (Tensor | undefined)[]): K {
  return backendOf(op, ...tensors).kernels(family, op);
}

/**
 * The checks of a loss over a batch's tokens: every input, and every output but `stats`, as
 * long as the first input; `stats` as long as its names; outputs distinct from the inputs and
 * from each other. Returns the family's kernels, the token count N and the tensors by name
 * (the kernels' names for them).
 */
export function checkTokenLoss<K>(
  op: string, family: OpFamily<K>, ins: Readonly<Record<string, Tensor>>, outs: Readonly<Record<string, Tensor>> & { stats: Tensor }, statNames: readonly string[],
): { kernels: K; N: number; tensors: Record<string, Tensor> } {
  const inputs = Object.values(ins);
  const { stats, ...perToken } = outs;
  const kernels = kernelsOf(op, family, ...inputs, ...Object.values(outs));
  const N = inputs[0]!.size;
  expectSizes(op, { ...ins, ...perToken }, N);
  expectSize(op, 'stats', stats, statNames.length);
  distinctOutputs(op, Object.values(outs), inputs);
  return { kernels, N, tensors: { ...ins, ...outs } };
}

/** Outputs must not share storage with inputs or with each other. */
export function distinctOutputs(op: string, outs: readonly Tensor[], ins: readonly Tensor[]): void {
  noAlias(op, outs, ins);
  for (let a = 0; a < outs.length; a++) for (let b = a + 1; b < outs.length; b++) noAlias(op, [outs[a]!], [outs[b]!]);
}

/** `out` when given (its shape must be the result's), else a new zero tensor of `shape`. */
export function outputOf(op: string, backend: Backend, shape: Shape, out?: Tensor): Tensor {
  if (!out) return backend.zeros(shape);
  if (fmt(out.shape) !== fmt(shape)) throw new ShapeError(`${op}: out has shape ${fmt(out.shape)}, the result has shape ${fmt(shape)}`);
  return out;
}

/** Fails unless `t` has exactly `shape`. */
export function expectShape(op: string, name: string, t: Tensor, shape: Shape): void {
  if (fmt(t.shape) !== fmt(shape)) throw new ShapeError(`${op}: ${name} has shape ${fmt(t.shape)}, expected ${fmt(shape)}`);
}

/** Fails unless `t` has `size` elements (any shape). */
export function expectSize(op: string, name: string, t: Tensor, size: number): void {
  if (t.size !== size) throw new ShapeError(`${op}: ${name} has ${t.size} elements (shape [${t.shape.join(', ')}]), expected ${size}`);
}

/** Fails unless every named tensor has `size` elements (any shape). */
export function expectSizes(op: string, tensors: Readonly<Record<string, Tensor>>, size: number): void {
  for (const [name, t] of Object.entries(tensors)) expectSize(op, name, t, size);
}

/** [N, C] of a 2-D operand. */
export function rowsOf(op: string, name: string, t: Tensor): [number, number] {
  if (t.shape.length !== 2) throw new ShapeError(`${op}: ${name} has shape ${fmt(t.shape)}, expected [N, C]`);
  return [t.shape[0]!, t.shape[1]!];
}

/** A finite number ≥ min (and ≤ max when given); else a ConfigError naming the option. */
export function checkNumber(op: string, name: string, v: unknown, min: number, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new ConfigError(`${op}: ${name} must be a finite number in [${min}, ${max === Infinity ? '∞' : max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

/** v's index in `values` (a kernel's code for the choice); else a ConfigError naming the option. */
export function checkChoice(op: string, name: string, values: readonly string[], v: unknown): number {
  const i = values.indexOf(v as string);
  if (i < 0) throw new ConfigError(`${op}: ${name} must be one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
  return i;
}

/** T of R rows of T tokens, from a token tensor of R·T elements (any shape). */
export function tokenRowsOf(op: string, tokens: Tensor, rows: number): number {
  if (!Number.isInteger(rows) || rows < 1 || tokens.size % rows !== 0) {
    throw new ShapeError(`${op}: ${tokens.size} tokens do not split into ${rows} rows of equal length`);
  }
  return tokens.size / rows;
}
