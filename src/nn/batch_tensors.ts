import type { Backend, Tensor } from '../backend/backend.js';
import type { RowIndex } from '../ops/layers.js';
import type { PreparedBatch } from './batch.js';
import { groupRows } from './row_index.js';

/** A RowIndex whose buffers are sized for the largest case and viewed to each batch's group count. */
class ReusableRowIndex {
  private readonly order: Tensor;
  private readonly starts: Tensor;
  private readonly targets: Tensor;

  constructor(private readonly be: Backend, rows: number, private readonly owned: Tensor[]) {
    this.order = be.zeros([rows]);
    this.starts = be.zeros([rows + 1]);
    this.targets = be.zeros([Math.max(rows, 1)]);
    owned.push(this.order, this.starts, this.targets);
  }

  set(dest: ArrayLike<number>): RowIndex {
    const g = groupRows(dest);
    const starts = this.be.view(this.starts, 0, [g.targets.length + 1]);
    const targets = this.be.view(this.targets, 0, [g.targets.length]);
    this.be.write(this.order, g.order);
    this.be.write(starts, g.starts);
    this.be.write(targets, g.targets);
    return { order: this.order, starts, targets, groups: g.targets.length };
  }
}

/** A prepared batch on the device, in buffers reused by every batch of the same (B, T). */
export class BatchTensors {
  readonly ids: Tensor;
  readonly pos: Tensor;
  readonly keyMask: Tensor;
  readonly targets: Tensor;
  readonly weights: Tensor;
  readonly lastRows: Tensor;
  idIndex!: RowIndex;
  posIndex!: RowIndex;
  /** Scatters the scalar head's [B] gradient rows back to their tokens. */
  lastIndex!: RowIndex;
  prepared!: PreparedBatch;
  private readonly owned: Tensor[] = [];
  private readonly idRows: ReusableRowIndex;
  private readonly posRows: ReusableRowIndex;
  private readonly lastRowsIndex: ReusableRowIndex;

  constructor(private readonly be: Backend, readonly B: number, readonly T: number) {
    const N = B * T;
    const z = (n: number) => {
      const t = be.zeros([n]);
      this.owned.push(t);
      return t;
    };
    this.ids = z(N);
    this.pos = z(N);
    this.keyMask = be.zeros([B, T]);
    this.owned.push(this.keyMask);
    this.targets = z(N);
    this.weights = z(N);
    this.lastRows = z(B);
    this.idRows = new ReusableRowIndex(be, N, this.owned);
    this.posRows = new ReusableRowIndex(be, N, this.owned);
    this.lastRowsIndex = new ReusableRowIndex(be, B, this.owned);
  }

  upload(p: PreparedBatch): void {
    const be = this.be;
    this.prepared = p;
    be.write(this.ids, p.ids);
    be.write(this.pos, p.pos);
    be.write(this.keyMask, p.keyMask);
    be.write(this.targets, p.targets);
    be.write(this.weights, p.weights);
    be.write(this.lastRows, p.lastRows);
    this.idIndex = this.idRows.set(p.ids);
    this.posIndex = this.posRows.set(p.pos);
    // Source row b of the head's gradient goes to token row lastRows[b]: group by token row.
    this.lastIndex = this.lastRowsIndex.set(p.lastRows);
  }

  dispose(): void {
    for (const t of this.owned) t.dispose();
  }
}
