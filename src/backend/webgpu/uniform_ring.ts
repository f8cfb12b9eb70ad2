import { KernelInterfaceError } from '../../errors.js';
import type { UniformField, UniformStruct } from './wgsl_reflection.js';

/**
 * Uniform parameters for queued dispatches. Every dispatch of one batch needs its own
 * slot: queue.writeBuffer runs before the batch's commands, so reusing one slot would
 * hand every dispatch the last write. Slots are recycled only after the batch is submitted
 * (writes queued after a submit are ordered after it).
 */
export class UniformRing {
  readonly buffer: GPUBuffer;
  readonly slotBytes: number;
  private next = 0;
  private readonly slots: number;

  constructor(private readonly device: GPUDevice, slots = 256) {
    // Bind offsets must be multiples of minUniformBufferOffsetAlignment (256 on most adapters).
    this.slotBytes = Math.max(256, device.limits.minUniformBufferOffsetAlignment);
    this.slots = slots;
    this.buffer = device.createBuffer({
      label: 'webrlhf uniforms',
      size: this.slotBytes * slots,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  get full(): boolean {
    return this.next >= this.slots;
  }

  /** Writes `data` into a fresh slot and returns its binding. Call only when not `full`. */
  push(data: ArrayBuffer): GPUBufferBinding {
    const offset = this.next++ * this.slotBytes;
    this.device.queue.writeBuffer(this.buffer, offset, data);
    return { buffer: this.buffer, offset, size: data.byteLength };
  }

  /** Call right after the batch that used the slots was submitted. */
  recycle(): void {
    this.next = 0;
  }

  destroy(): void {
    this.buffer.destroy();
  }
}

/**
 * Packs a kernel's uniform struct from values by field name (the struct as its shader declares
 * it, see wgsl_reflection.ts). Every field the entry point reads must be given, and only
 * fields the struct has; fields it does not read are 0. u32 and i32 fields take integers.
 */
export function packUniform(what: string, struct: UniformStruct & { read: ReadonlySet<string> }, values: Readonly<Record<string, number>>): ArrayBuffer {
  return packFields(what, struct, uniformFields(what, struct, Object.keys(values)), Object.values(values));
}

/** The struct's field for each of `keys` (the names a call gives, in its order); a missing or unknown name throws. */
export function uniformFields(what: string, struct: UniformStruct & { read: ReadonlySet<string> }, keys: readonly string[]): (UniformField & { name: string })[] {
  for (const name of struct.read) {
    if (!keys.includes(name)) throw new KernelInterfaceError(`${what} reads ${struct.variable}.${name}, which the host did not give (gave: ${keys.join(', ')})`);
  }
  return keys.map((name) => {
    const field = struct.fields.get(name);
    if (!field) throw new KernelInterfaceError(`${what}: its uniform struct has no field ${name} (fields: ${[...struct.fields.keys()].join(', ')})`);
    return { ...field, name };
  });
}

/** The struct's bytes with values[i] in fields[i]. */
export function packFields(what: string, struct: UniformStruct, fields: readonly (UniformField & { name: string })[], values: readonly number[]): ArrayBuffer {
  const buf = new ArrayBuffer(struct.words * 4);
  const u = new Uint32Array(buf);
  const i = new Int32Array(buf);
  const f = new Float32Array(buf);
  for (let k = 0; k < fields.length; k++) {
    const field = fields[k]!;
    const v = values[k]!;
    if (field.type === 'f32') f[field.word] = v;
    else if (field.type === 'u32' && Number.isInteger(v) && v >= 0 && v < 2 ** 32) u[field.word] = v;
    else if (field.type === 'i32' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) i[field.word] = v;
    else throw new KernelInterfaceError(`${what}: ${struct.variable}.${field.name} is ${field.type}, given ${v}`);
  }
  return buf;
}
