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

/** Packs a uniform struct of 32-bit fields; `f` marks the float fields, the rest are u32. */
export function packParams(values: readonly number[], floatFields: readonly number[] = []): ArrayBuffer {
  const words = Math.ceil(values.length / 4) * 4;
  const buf = new ArrayBuffer(words * 4);
  const u = new Uint32Array(buf);
  const f = new Float32Array(buf);
  values.forEach((v, i) => {
    if (floatFields.includes(i)) f[i] = v;
    else u[i] = v;
  });
  return buf;
}
