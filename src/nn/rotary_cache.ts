import type { Backend, Tensor } from '../backend/backend.js';
import type { Architecture } from './architecture.js';
import { rotaryFrequencies, rotaryTables } from './rotary.js';

/**
 * A rotary model's cos/sin tables on the device, [P, head_dim/2] each, computed on the host in
 * float64 (WGSL's cos and sin carry no accuracy guarantee outside [−π, π]). They grow by
 * doubling to the positions asked for, so a short-context run never holds max_position_embeddings rows.
 */
export class RotaryCache {
  readonly #invFreq: Float64Array;
  #tables: { cos: Tensor; sin: Tensor } | undefined;
  #rows = 0;

  constructor(private readonly backend: Backend, private readonly arch: Architecture) {
    const r = arch.rotary!;
    this.#invFreq = rotaryFrequencies(arch.headDim, r.theta, r.scaling);
  }

  /** Tables covering positions 0 … positions − 1. */
  tables(positions: number): { cos: Tensor; sin: Tensor } {
    if (this.#tables && this.#rows >= positions) return this.#tables;
    let rows = Math.max(64, this.#rows);
    while (rows < positions) rows *= 2;
    rows = Math.min(rows, Math.max(positions, this.arch.maxPositions));
    this.dispose();
    const { cos, sin } = rotaryTables(this.#invFreq, rows);
    const half = this.arch.headDim / 2;
    this.#tables = { cos: this.backend.tensor(cos, [rows, half]), sin: this.backend.tensor(sin, [rows, half]) };
    this.#rows = rows;
    return this.#tables;
  }

  get bytes(): number {
    return this.#tables ? 2 * this.#tables.cos.size * 4 : 0;
  }

  dispose(): void {
    this.#tables?.cos.dispose();
    this.#tables?.sin.dispose();
    this.#tables = undefined;
    this.#rows = 0;
  }
}
