// What the WebGPU backend gives op families (op_family.ts): dispatch of a WGSL entry point
// with its bindings and uniforms by name, checked against the shader's own declarations
// (wgsl_reflection.ts); grid helpers; scratch buffers; and the kernel shapes chosen for this
// adapter.
import { DeviceLimitError, KernelInterfaceError } from '../../errors.js';
import { VIEW_ALIGN } from '../backend.js';
import { DTYPE_BYTES, viewAlign } from '../dtype.js';
import type { Shape } from '../shapes.js';
import { Tensor } from '../tensor.js';
import type { PipelineCache } from './pipelines.js';
import { KeyOrderCache } from '../key_order_cache.js';
import { packFields, uniformFields } from './uniform_ring.js';
import type { EntryPointInterface, UniformField } from './wgsl_reflection.js';

/**
 * The shape of the matmul kernel (override constants of kernels/matmul.wgsl): each invocation
 * computes R rows × 4·C columns of the product; a workgroup is WX × WY invocations.
 */
export interface MatmulTiling {
  R: number;
  C: number;
  WX: number;
  WY: number;
}

/**
 * Software rasterisers (llvmpipe, lavapipe, SwiftShader) run a workgroup on one CPU thread,
 * 8 invocations to a SIMD vector, and fetch each lane's load separately, so the largest
 * block wins: on llvmpipe 16×16 outputs per invocation ran ~1.8× faster than 8×16. 32×16
 * was 5–20% faster still but takes ~2.5× as long to compile (~3 s per variant), so not
 * chosen. 8 invocations across N fill exactly one SIMD vector.
 */
export const SOFTWARE_MATMUL: MatmulTiling = { R: 16, C: 4, WX: 8, WY: 8 };
/** Hardware GPUs keep accumulators in registers: 4×4 per invocation, 256 invocations. */
export const HARDWARE_MATMUL: MatmulTiling = { R: 4, C: 1, WX: 16, WY: 16 };

/**
 * How row ops (layerNorm, causalSoftmax, forward and backward) spread a row: over a workgroup
 * (a tree in workgroup memory combines the row's statistics), or onto one invocation. On
 * software rasterisers barriers are coroutine switches and dominate short rows: one
 * invocation per row measured 3–7× faster on llvmpipe (T = 128 to 1024). Hardware GPUs want
 * coalesced loads: a workgroup per row.
 */
export type RowKernels = 'workgroup' | 'invocation';

/**
 * The widest row one invocation takes (3 passes of 4096 stay far below the 65535 loop
 * iterations of Mesa's gallivm, see LOOP_CHUNK); wider rows use a workgroup per row.
 */
const ROW_LOOP_MAX = 4096;
/** Rows per workgroup of the one-invocation-per-row entry points (`…__rows`). */
export const ROW_WG = 64;

/** Stands for a binding an entry point names but this call never reaches (an override turns it off). */
export const UNUSED = Symbol('unused binding');
export type Binding = Tensor | typeof UNUSED;

/** Workgroups per grid dimension that every adapter supports. */
export const MAX_GRID = 65535;

/**
 * Mesa's gallivm (llvmpipe, lavapipe: Dawn's GL path in Node and wgpu in Deno) ends every loop
 * of an invocation once the invocation has run 65535 loop iterations in total, silently. So
 * kernels whose loops could run that long take their work in chunks of this many: rows per
 * dispatch (column sums, scatter-add), values per workgroup (reductions).
 */
export const LOOP_CHUNK = 16384;

/** [start, count] of consecutive chunks of at most `size` covering 0..n (one empty chunk when n is 0). */
export function chunks(n: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let start = 0; start < n || out.length === 0; start += size) out.push([start, Math.min(size, n - start)]);
  return out;
}

/** Rows of an operand that an op walks in blocks: row r is t's elements origin + r·width .. + width. */
export interface RowSpan {
  t: Tensor;
  origin: number;
  width: number;
}

/** A binding over part of a tensor; kernels index it at (element of the tensor) − base. */
export interface Window {
  tensor: Tensor;
  base: number;
}

/** A block of rows (see GPUKernelContext.rowWindows). */
export interface RowWindows {
  start: number;
  count: number;
  base: number;
  tensors: readonly Tensor[];
}

/** What the kernel context needs of its backend (WebGPUBackend). */
export interface GPUHost {
  /** What one binding and one new buffer may hold, in bytes. */
  readonly storageLimits: { binding: number; buffer: number };
  readonly device: GPUDevice;
  readonly pipelines: PipelineCache;
  matmulTiling: MatmulTiling;
  rowKernels: RowKernels;
  /** A slot of the uniform ring holding `data` (submitting first when the ring is full). */
  uniform(data: ArrayBuffer): GPUBufferBinding;
  /** Records a command buffer inside error scopes that name `op`, checked at the next read/flush. */
  record(op: string, body: (encoder: GPUCommandEncoder) => void): void;
  /** The range of its buffer a tensor binds; a DeviceLimitError naming op and binding where it cannot. */
  bind(t: Tensor, op: string, name: string): GPUBufferBinding;
  /** Whether a tensor binds whole (within the binding limit and one buffer). */
  fits(t: Tensor): boolean;
  /** Elements of t from `start` that one binding from `start` rounded down to VIEW_ALIGN covers. */
  room(t: Tensor, start: number): number;
  /** A view of t's elements [start, start + count), start a multiple of VIEW_ALIGN. */
  window(t: Tensor, start: number, count: number): Tensor;
  /** A buffer standing in for UNUSED bindings. */
  readonly placeholder: GPUBuffer;
  /** An untracked tensor for one op's intermediate values; retire it after its last dispatch. */
  scratch(shape: Shape): Tensor;
  retire(t: Tensor): void;
}

/** An entry point's interface and how a call site's names map onto it. */
interface EntryLayout {
  readonly iface: EntryPointInterface;
  /** Names the op and entry point in errors. */
  readonly what: string;
  /** The binding index of each binding the call names, in its key order. */
  readonly bindings: KeyOrderCache<number[]>;
  /** The uniform field of each value the call names, in its key order. */
  readonly fields: KeyOrderCache<(UniformField & { name: string })[]>;
}

export class GPUKernelContext {
  readonly unused: typeof UNUSED = UNUSED;
  readonly #host: GPUHost;
  readonly #layouts = new Map<string, Map<string, EntryLayout>>();

  constructor(host: GPUHost) {
    this.#host = host;
  }

  get matmulTiling(): MatmulTiling {
    return this.#host.matmulTiling;
  }

  /** Whether a row op over rows of `width` values runs one invocation per row (see RowKernels). */
  rowPerInvocation(width: number): boolean {
    return this.#host.rowKernels === 'invocation' && width <= ROW_LOOP_MAX;
  }

  /**
   * Records one dispatch of WGSL entry point `entry` in its own command buffer. Bindings and
   * uniform fields are given by the names the shader declares; the entry point's every used
   * binding and read field must be given, and nothing it lacks (KernelInterfaceError, before
   * anything is recorded). `grid` is workgroups in x and y (see grid()); `op` names the
   * dispatch in a GPUOpError.
   */
  dispatch(
    op: string, entry: string, bindings: Readonly<Record<string, Binding>>, params: Readonly<Record<string, number>>,
    grid: readonly [number, number], constants: Readonly<Record<string, number>> = {},
  ): void {
    const host = this.#host;
    const layout = this.#layout(op, entry);
    const names = Object.keys(bindings);
    const given = Object.values(bindings);
    const indices = layout.bindings.layout(names);
    const entries: GPUBindGroupEntry[] = [];
    for (let k = 0; k < given.length; k++) {
      const b = given[k]!;
      entries.push({ binding: indices[k]!, resource: b === UNUSED ? { buffer: host.placeholder } : host.bind(b, op, names[k]!) });
    }
    const uniform = layout.iface.uniform;
    if (uniform) {
      const fields = layout.fields.layout(Object.keys(params));
      entries.push({ binding: uniform.binding, resource: host.uniform(packFields(layout.what, uniform, fields, Object.values(params))) });
    } else if (Object.keys(params).length) {
      throw new KernelInterfaceError(`${layout.what} reads no uniforms, given ${Object.keys(params).join(', ')}`);
    }
    host.record(op, (encoder) => {
      const pipeline = host.pipelines.get(entry, constants);
      const bindGroup = host.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      const pass = encoder.beginComputePass({ label: op });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      if (grid[0] > 0 && grid[1] > 0) pass.dispatchWorkgroups(grid[0], grid[1], 1);
      pass.end();
    });
  }

  /**
   * One dispatch of ONE workgroup (the loss kernels: a batch's tokens are few) with a plan
   * whose keys are the entry point's names: its tensors become bindings, its numbers (and
   * flags, as 0 or 1) uniform fields.
   */
  singleWorkgroup(op: string, entry: string, plan: Readonly<Record<string, Tensor | number | boolean>>): void {
    const bindings: Record<string, Tensor> = {};
    const params: Record<string, number> = {};
    for (const [name, v] of Object.entries(plan)) {
      if (v instanceof Tensor) bindings[name] = v;
      else params[name] = Number(v);
    }
    this.dispatch(op, entry, bindings, params, [1, 1]);
  }

  /**
   * A family implementation whose every kernel is a singleWorkgroup dispatch of the entry
   * point of its name; `ops` maps each kernel to the op name errors give.
   */
  singleWorkgroups<K>(ops: Readonly<Record<keyof K & string, string>>): K {
    const entries = Object.entries(ops) as [string, string][];
    return Object.fromEntries(entries.map(([entry, op]) => [entry, (plan: Record<string, Tensor | number | boolean>) => this.singleWorkgroup(op, entry, plan)])) as K;
  }

  /** How `op`'s calls of `entry` bind: checked against the shader's declarations, once per call site (KeyOrderCache). */
  #layout(op: string, entry: string): EntryLayout {
    let byEntry = this.#layouts.get(op);
    if (!byEntry) this.#layouts.set(op, (byEntry = new Map()));
    let layout = byEntry.get(entry);
    if (!layout) {
      const iface = this.#host.pipelines.entryPoint(entry);
      const what = `${op} (entry point ${entry})`;
      layout = {
        iface,
        what,
        bindings: new KeyOrderCache((keys) => bindingIndices(what, iface, keys)),
        fields: new KeyOrderCache((keys) => uniformFields(what, iface.uniform!, keys)),
      };
      byEntry.set(entry, layout);
    }
    return layout;
  }

  /** n workgroups spread over x (≤ 65535) and y; kernels fold y back in with their gridX. */
  grid(n: number): [number, number] {
    if (n <= MAX_GRID) return [n, 1];
    const y = Math.ceil(n / MAX_GRID);
    return [Math.ceil(n / y), y];
  }

  /** Whether every given tensor binds whole: then an op runs as one dispatch, unsplit. */
  fits(...tensors: readonly (Tensor | undefined)[]): boolean {
    return this.#fitAll(tensors);
  }

  #fitAll(tensors: readonly (Tensor | undefined)[]): boolean {
    for (const t of tensors) if (t && !this.#host.fits(t)) return false;
    return true;
  }

  /**
   * Cuts rows [0, rows) into blocks [start, count) small enough that each operand's rows of a
   * block bind as one window (see window()): operand row r is its tensor's elements
   * origin + r·width .. origin + (r + 1)·width. Blocks start on multiples of `step`; where a
   * block holds `prefer` rows or more (a multiple of step, e.g. a kernel's tile) its size is
   * a multiple of prefer. No operands: one block. A DeviceLimitError names `op` when not even
   * `step` rows fit.
   */
  blocks(op: string, rows: number, operands: readonly RowSpan[], step = 1, prefer = step): [number, number][] {
    const out = this.tryBlocks(rows, operands, step, prefer);
    if (typeof out === 'number') throw this.#tooWide(op, operands, out, Math.min(step, rows - out));
    return out;
  }

  /** blocks(), or where not even `step` rows fit, the row they would start at. */
  tryBlocks(rows: number, operands: readonly RowSpan[], step = 1, prefer = step): [number, number][] | number {
    const out: [number, number][] = [];
    for (let start = 0; start < rows || out.length === 0;) {
      let count = rows - start;
      for (const { t, origin, width } of operands) {
        if (width > 0 && count > 0) count = Math.min(count, Math.floor(this.#host.room(t, origin + start * width) / width));
      }
      if (count < rows - start) count = count >= prefer ? count - (count % prefer) : count - (count % step);
      if (count <= 0 && rows > start) return start;
      out.push([start, count]);
      start += count;
    }
    return out;
  }

  /**
   * t's elements [start, start + count) as a binding that starts at `base`: start rounded
   * down to 256 bytes (binding offsets are multiples of 256 bytes: VIEW_ALIGN f32s, or
   * viewAlign of t's dtype). Kernels index the window at (element of t) − base.
   */
  window(t: Tensor, start: number, count: number): Window {
    const base = start - (start % viewAlign(t.dtype));
    return { tensor: this.#host.window(t, base, start + count - base), base };
  }

  /**
   * Rows [0, rows) of same-shaped [rows, width] tensors in blocks that each bind as windows:
   * per block its first row, row count, window base (the same for every tensor: tensors start
   * on VIEW_ALIGN) and the windows in the tensors' order. One block of the whole tensors
   * (base 0) where all bind whole. Kernels index a block's rows at row·width − base; with
   * `aligned`, blocks start on aligned elements, so the base is 0 and the windows are plain
   * views of the block (for kernels that take no base).
   */
  rowWindows(op: string, rows: number, width: number, tensors: readonly Tensor[], aligned = false): RowWindows[] {
    if (this.#fitAll(tensors)) return [{ start: 0, count: rows, base: 0, tensors }];
    const step = aligned ? Math.max(...tensors.map((t) => alignedRows(width, viewAlign(t.dtype)))) : 1;
    return this.blocks(op, rows, tensors.map((t) => ({ t, origin: 0, width })), step).map(([start, count]) => {
      const windows = tensors.map((t) => this.window(t, start * width, count * width));
      return { start, count, base: windows[0]!.base, tensors: windows.map((w) => w.tensor) };
    });
  }

  /**
   * An elementwise entry point over n values, `per` to an invocation, `wg` invocations to a
   * workgroup (it reads n and row, the invocations per grid row). `flat` tensors hold the n
   * values; `whole` bindings are bound as they are. Where a flat tensor does not bind whole,
   * the values run in aligned pieces, one dispatch each, on views (the kernel is unchanged).
   * `params` are the other uniform fields, or a function of the piece's first value index for
   * a kernel whose values depend on the index (dropout moves its Philox counter by it).
   */
  elementwise(
    op: string, entry: string, flat: Readonly<Record<string, Tensor>>, n: number,
    o: { wg: number; per?: number; params?: Readonly<Record<string, number>> | ((start: number) => Readonly<Record<string, number>>); whole?: Readonly<Record<string, Binding>> },
  ): void {
    const tensors = Object.values(flat);
    const names = Object.keys(flat);
    for (const w of this.rowWindows(op, n, 1, tensors, true)) {
      const bindings = w.tensors === tensors ? flat : Object.fromEntries(names.map((name, i) => [name, w.tensors[i]!]));
      const grid = this.grid(Math.ceil(w.count / (o.wg * (o.per ?? 1))));
      const params = typeof o.params === 'function' ? o.params(w.start) : o.params;
      this.dispatch(op, entry, o.whole ? { ...bindings, ...o.whole } : bindings, { n: w.count, row: grid[0] * o.wg, ...params }, grid);
    }
  }

  #tooWide(op: string, operands: readonly RowSpan[], start: number, step: number): DeviceLimitError {
    const { t, width } = operands.find(({ t, origin, width }) => this.#host.room(t, origin + start * width) < step * width) ?? operands[0]!;
    return new DeviceLimitError(
      `${op}: ${step} row(s) of ${width} values of ${t} (${step * width * DTYPE_BYTES[t.dtype]} bytes, from a 256-byte boundary) do not fit one storage binding ` +
      `on this adapter (${this.#host.storageLimits.binding} bytes), or cross the end of one of the device buffers its root is stored in, so ${op} cannot split it further; ` +
      'use an adapter with larger limits (maxStorageBufferBindingSize, maxBufferSize), smaller rows, or the wasm backend',
    );
  }

  /** An untracked tensor for intermediate values of one op (reduction partials). */
  scratch(shape: Shape): Tensor {
    return this.#host.scratch(shape);
  }

  /** Frees a scratch tensor once every command recorded so far has been submitted: call it after its last dispatch. */
  retire(t: Tensor): void {
    this.#host.retire(t);
  }
}

/** The binding index of each name in `keys`: exactly the bindings the entry point uses, or a KernelInterfaceError. */
function bindingIndices(what: string, iface: EntryPointInterface, keys: readonly string[]): number[] {
  for (const name of iface.storage.keys()) {
    if (!keys.includes(name)) throw new KernelInterfaceError(`${what} uses binding ${name}, which the host did not give (gave: ${keys.join(', ')})`);
  }
  const extra = keys.filter((k) => !iface.storage.has(k));
  if (extra.length) {
    throw new KernelInterfaceError(`${what} does not use binding ${extra.join(', ')} (it uses ${[...iface.storage.keys()].join(', ') || 'none'}; the module declares ${iface.declared.join(', ')})`);
  }
  return keys.map((k) => iface.storage.get(k)!);
}

/** The fewest rows of `width` values that end on a multiple of `align` (VIEW_ALIGN): row blocks of this many start aligned. */
export function alignedRows(width: number, align = VIEW_ALIGN): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return align / gcd(width, align);
}
