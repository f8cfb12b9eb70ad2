// The safetensors format (https://github.com/huggingface/safetensors), runtime-agnostic:
//
//   [8 bytes]  N, the header's length in bytes, unsigned 64-bit little-endian
//   [N bytes]  JSON object: { "__metadata__"?: {string: string},
//                             name: { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ... }
//   [rest]     the data section; data_offsets are byte offsets into it (begin inclusive, end exclusive)
//
// Reading accepts F32, F16, BF16 and F64 and returns Float32Arrays; writing produces F32.
// Everything is validated before a value is read, and every failure is a CheckpointError
// that names the file, the tensor and the problem.
import { CheckpointError } from '../errors.js';

/** The dtypes parseSafetensors converts to Float32Array. */
export const SAFETENSORS_READ_DTYPES = ['F32', 'F16', 'BF16', 'F64'] as const;

/** Bytes per element of the dtypes the format defines (used to check the layout of any tensor). */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};

/** One tensor as read: the file's dtype, its shape, and its values converted to f32. */
export interface SafetensorsTensor {
  dtype: string;
  shape: number[];
  data: Float32Array;
}

/** parseSafetensors' result: tensors by name in file (data offset) order, plus the file's metadata. */
export type SafetensorsTensors = Map<string, SafetensorsTensor> & {
  /** The header's `__metadata__` (string → string); {} when absent. */
  metadata: Record<string, string>;
  /** Names passed over by `options.skip` (validated for layout, not decoded). */
  skipped: string[];
};

/** A named f32 tensor to write. `data.length` must equal the product of `shape`. */
export interface NamedTensor {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

export interface ParseSafetensorsOptions {
  /**
   * Tensors to leave out of the result (e.g. buffers the model does not use). Their layout is
   * still checked, but their values are not converted, and an unsupported dtype is no error.
   */
  skip?: (name: string) => boolean;
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The f16 → f32 conversion for every bit pattern (built on first use; 256 KiB). */
let f16Table: Float32Array | undefined;

function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) table[h] = sign * mant * 2 ** -24; // zero and subnormals (exact in f32)
    else if (exp === 31) bits[h] = ((h & 0x8000) << 16) | 0x7f800000 | (mant << 13); // ±inf, NaN with its payload
    else table[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  f16Table = table;
  return table;
}

/** f16 bits → f32, exactly (subnormals, ±0, ±inf and NaN included). */
export function f16BitsToF32(bits: number): number {
  return halfTable()[bits & 0xffff]!;
}

/** bf16 bits → f32, exactly (bf16 is the top half of an f32). */
export function bf16BitsToF32(bits: number): number {
  const f = new Float32Array(1);
  new Uint32Array(f.buffer)[0] = (bits & 0xffff) << 16;
  return f[0]!;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function shapeText(shape: readonly unknown[]): string {
  return `[${shape.join(', ')}]`;
}

function short(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** A copy of `src` as an aligned typed array of little-endian elements. */
function copyOut<T extends Uint16Array | Float32Array | Float64Array>(
  src: Uint8Array, make: (n: number) => T, get: (view: DataView, byte: number) => number,
): T {
  const width = make(0).BYTES_PER_ELEMENT;
  const out = make(src.byteLength / width);
  if (littleEndian) {
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(src);
  } else {
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = get(view, i * width);
  }
  return out;
}

function decode(dtype: string, src: Uint8Array): Float32Array {
  switch (dtype) {
    case 'F32':
      return copyOut(src, (n) => new Float32Array(n), (v, b) => v.getFloat32(b, true));
    case 'F64':
      return Float32Array.from(copyOut(src, (n) => new Float64Array(n), (v, b) => v.getFloat64(b, true)));
    case 'F16': {
      const half = copyOut(src, (n) => new Uint16Array(n), (v, b) => v.getUint16(b, true));
      const table = halfTable();
      const out = new Float32Array(half.length);
      for (let i = 0; i < half.length; i++) out[i] = table[half[i]!]!;
      return out;
    }
    case 'BF16': {
      const half = copyOut(src, (n) => new Uint16Array(n), (v, b) => v.getUint16(b, true));
      const out = new Float32Array(half.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < half.length; i++) bits[i] = half[i]! << 16;
      return out;
    }
    default:
      throw new Error(`unreachable dtype ${dtype}`);
  }
}

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
  skip: boolean;
}

/**
 * Reads a safetensors file's bytes. `bytes` may be any Uint8Array view (non-zero, unaligned
 * byteOffset included); the result never aliases it. `file` names the file in error messages.
 * Throws CheckpointError for anything malformed: it never returns a silently wrong tensor.
 */
export function parseSafetensors(bytes: Uint8Array, file = 'safetensors data', options: ParseSafetensorsOptions = {}): SafetensorsTensors {
  function fail(message: string, tensor?: string): never {
    throw new CheckpointError(message, tensor === undefined ? { file } : { tensor, file });
  }
  if (!(bytes instanceof Uint8Array)) fail(`${file}: expected the file's bytes as a Uint8Array, got ${Object.prototype.toString.call(bytes)}`);
  const total = bytes.byteLength;
  if (total < 8) {
    fail(`${file} is ${total} bytes long: a safetensors file starts with an 8-byte header length, so the file is truncated or not a safetensors file. Download or save it again.`);
  }
  const lengths = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const headerLen = lengths.getUint32(4, true) * 2 ** 32 + lengths.getUint32(0, true);
  if (headerLen > total - 8) {
    fail(`${file}: its header length field says ${headerLen} bytes, but only ${total - 8} bytes follow it: the file is truncated or not a safetensors file. Download or save it again.`);
  }

  let headerBytes = bytes.subarray(8, 8 + headerLen);
  if (typeof SharedArrayBuffer !== 'undefined' && headerBytes.buffer instanceof SharedArrayBuffer) headerBytes = headerBytes.slice();
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    fail(`${file}: its ${headerLen}-byte header is not valid UTF-8 JSON (${e instanceof Error ? e.message : String(e)}): the file is corrupt or not a safetensors file.`);
  }
  if (!isPlainObject(header)) {
    fail(`${file}: its header is ${short(header)}, not a JSON object of tensors: the file is corrupt or not a safetensors file.`);
  }
  const head = header as Record<string, unknown>;

  const metadata: Record<string, string> = {};
  const rawMeta = head.__metadata__;
  if (rawMeta !== undefined) {
    if (!isPlainObject(rawMeta)) fail(`${file}: __metadata__ is ${short(rawMeta)}, not an object of strings.`, '__metadata__');
    for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(`${file}: __metadata__.${k} is ${short(v)}; metadata values must be strings.`, '__metadata__');
      metadata[k] = v as string;
    }
  }

  const dataStart = 8 + headerLen;
  const dataLen = total - dataStart;
  const entries: Entry[] = [];
  const supported = SAFETENSORS_READ_DTYPES.join(', ');
  for (const [name, raw] of Object.entries(head)) {
    if (name === '__metadata__') continue;
    const skip = options.skip?.(name) ?? false;
    if (!isPlainObject(raw)) fail(`${name} in ${file}: its header entry is ${short(raw)}, not an object with dtype, shape and data_offsets. The file is corrupt.`, name);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string') fail(`${name} in ${file}: dtype is ${short(dtype)}, not a string. The file is corrupt.`, name);
    const dt = dtype as string;
    if (!skip && !(SAFETENSORS_READ_DTYPES as readonly string[]).includes(dt)) {
      const kind = dt in DTYPE_BYTES ? 'which webrlhf does not read' : 'which is not a safetensors dtype';
      fail(`${name} in ${file} has dtype '${dt}', ${kind}; supported dtypes: ${supported}. Convert the checkpoint to float32 (or float16/bfloat16) and save it again.`, name);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      fail(`${name} in ${file}: shape is ${short(shape)}, not a list of non-negative integers. The file is corrupt.`, name);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      fail(`${name} in ${file}: data_offsets is ${short(offsets)}, not [begin, end] with non-negative integers. The file is corrupt.`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(`${name} in ${file}: data_offsets [${begin}, ${end}] end before they begin. The file is corrupt.`, name);
    const dims = shape as number[];
    const width = DTYPE_BYTES[dt];
    if (width !== undefined) {
      const count = dims.reduce((a, b) => a * b, 1);
      if (count * width !== end - begin) {
        fail(`${name} in ${file}: shape ${shapeText(dims)} of ${dt} needs ${count * width} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}. The header is corrupt; save the checkpoint again.`, name);
      }
    }
    entries.push({ name, dtype: dt, shape: dims.slice(), begin, end, skip });
  }

  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const cut = entries.find((e) => e.end > dataLen);
  if (cut) {
    const need = dataStart + entries.reduce((m, e) => Math.max(m, e.end), 0);
    fail(`${cut.name} in ${file}: data_offsets [${cut.begin}, ${cut.end}] reach past the end of the data section, which holds ${dataLen} bytes: the file is truncated (${total} bytes; its header needs at least ${need}). Download or save it again.`, cut.name);
  }
  let prev: Entry | undefined;
  for (const e of entries) {
    if (e.end === e.begin) continue; // empty tensors occupy no bytes
    if (prev && e.begin < prev.end) {
      fail(`${e.name} in ${file}: its data_offsets [${e.begin}, ${e.end}] overlap those of ${prev.name} [${prev.begin}, ${prev.end}]. The header is corrupt; save the checkpoint again.`, e.name);
    }
    prev = e;
  }

  const result = new Map<string, SafetensorsTensor>() as SafetensorsTensors;
  result.metadata = metadata;
  result.skipped = [];
  for (const e of entries) {
    if (e.skip) {
      result.skipped.push(e.name);
      continue;
    }
    const data = decode(e.dtype, bytes.subarray(dataStart + e.begin, dataStart + e.end));
    result.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return result;
}

/**
 * Writes tensors as a safetensors file of F32 tensors, in the given order with contiguous
 * offsets, the header padded with spaces to a multiple of 8 bytes (so every tensor is
 * 8-byte aligned in the file). `metadata` becomes the header's `__metadata__`.
 */
export function serializeSafetensors(
  tensors: Iterable<NamedTensor> | ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
  metadata?: Record<string, string>,
): Uint8Array {
  const list: NamedTensor[] = tensors instanceof Map
    ? [...(tensors as ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>)].map(([name, t]) => ({ name, shape: t.shape, data: t.data }))
    : [...(tensors as Iterable<NamedTensor>)];
  const seen = new Set<string>();
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw new CheckpointError(`safetensors metadata must be an object of strings, got ${short(metadata)}`, { tensor: '__metadata__' });
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new CheckpointError(`safetensors metadata values must be strings; ${k} is ${short(v)}`, { tensor: '__metadata__' });
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const t of list) {
    const name = t?.name;
    if (typeof name !== 'string' || name === '' || name === '__metadata__') {
      throw new CheckpointError(`cannot save a tensor named ${short(name)}: names must be non-empty strings other than __metadata__`, { tensor: String(name) });
    }
    if (seen.has(name)) throw new CheckpointError(`cannot save two tensors named ${name}`, { tensor: name });
    seen.add(name);
    if (!Array.isArray(t.shape) || !t.shape.every(isCount)) {
      throw new CheckpointError(`cannot save ${name}: its shape ${short(t.shape)} is not a list of non-negative integers`, { tensor: name });
    }
    if (!(t.data instanceof Float32Array)) throw new CheckpointError(`cannot save ${name}: its data must be a Float32Array, got ${Object.prototype.toString.call(t.data)}`, { tensor: name });
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new CheckpointError(`cannot save ${name}: shape ${shapeText(t.shape)} has ${count} elements but its data has ${t.data.length}`, { tensor: name });
    }
    parts.push(`${JSON.stringify(name)}:{"dtype":"F32","shape":${JSON.stringify(t.shape)},"data_offsets":[${offset},${offset + t.data.byteLength}]}`);
    offset += t.data.byteLength;
  }
  // Built by hand: a JS object would put integer-like names first, not in the given order.
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLen = Math.ceil(json.byteLength / 8) * 8;
  let out: Uint8Array;
  try {
    out = new Uint8Array(8 + headerLen + offset);
  } catch (e) {
    throw new CheckpointError(`cannot save ${list.length} tensors (${offset} bytes) as one safetensors file: ${e instanceof Error ? e.message : String(e)}`, {}, { cause: e });
  }
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLen % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerLen / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const t of list) {
    if (littleEndian) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    } else {
      for (let i = 0; i < t.data.length; i++) view.setFloat32(pos + 4 * i, t.data[i]!, true);
    }
    pos += t.data.byteLength;
  }
  return out;
}
