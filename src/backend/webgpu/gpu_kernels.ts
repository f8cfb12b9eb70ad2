// What the WebGPU backend gives op families (op_family.ts): dispatch of a WGSL entry point
// with its bindings and uniforms by name, checked against the shader's own declarations
// (wgsl_reflection.ts); grid helpers; scratch buffers; and the kernel shapes chosen for this
// adapter.
import { KernelInterfaceError } from '../../errors.js';
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

/** What the kernel context needs of its backend (WebGPUBackend). */
export interface GPUHost {
  readonly device: GPUDevice;
  readonly pipelines: PipelineCache;
  matmulTiling: MatmulTiling;
  rowKernels: RowKernels;
  /** A slot of the uniform ring holding `data` (submitting first when the ring is full). */
  uniform(data: ArrayBuffer): GPUBufferBinding;
  /** Records a command buffer inside error scopes that name `op`, checked at the next read/flush. */
  record(op: string, body: (encoder: GPUCommandEncoder) => void): void;
  /** The range of its buffer a tensor binds. */
  bind(t: Tensor): GPUBufferBinding;
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
    const given = Object.values(bindings);
    const indices = layout.bindings.layout(Object.keys(bindings));
    const entries: GPUBindGroupEntry[] = [];
    for (let k = 0; k < given.length; k++) {
      const b = given[k]!;
      entries.push({ binding: indices[k]!, resource: b === UNUSED ? { buffer: host.placeholder } : host.bind(b) });
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
