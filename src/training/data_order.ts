import { ConfigError } from '../errors.js';
import { seededPermutation } from '../random/permutation.js';

/**
 * Which examples each step trains on: every epoch is a fresh seeded shuffle of the dataset,
 * cut into batches (the last one may be smaller). A pure function of (seed, step), so a
 * resumed run needs no saved position to see exactly the batches it would have seen.
 */
export class DataOrder {
  readonly stepsPerEpoch: number;
  #epoch = -1;
  #order: number[] = [];

  constructor(readonly size: number, readonly batchSize: number, readonly seed: number) {
    if (size < 1) throw new ConfigError('the training dataset is empty; give at least one example');
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`the batch size must be an integer ≥ 1, got ${batchSize}`);
    this.stepsPerEpoch = Math.ceil(size / batchSize);
  }

  /** The epoch a 0-based step falls in. */
  epochOf(step: number): number {
    return Math.floor(step / this.stepsPerEpoch);
  }

  /** Indices of the examples of a 0-based step. */
  batch(step: number): number[] {
    const epoch = this.epochOf(step);
    if (epoch !== this.#epoch) {
      this.#order = seededPermutation(this.size, { seed: this.seed, stream: 0, offset: epoch % 2 ** 32 });
      this.#epoch = epoch;
    }
    const at = (step % this.stepsPerEpoch) * this.batchSize;
    return this.#order.slice(at, at + this.batchSize);
  }
}
