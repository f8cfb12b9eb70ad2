// Float64 references and comparison helpers shared by the suites.
import { uniformSampler } from '../../src/nn/init.js';

/** Seeded uniforms in [0, 1) (mulberry32, the model's own generator), so every runtime draws the same test data. */
export const rng = uniformSampler;

/** n values uniform in [-1, 1), rounded to f32 so the reference sees what the device sees. */
export function randomF32(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() * 2 - 1;
  return out;
}

export interface MatmulRef {
  M: number; N: number; K: number; batch?: number;
  transA?: boolean; transB?: boolean; broadcastB?: boolean;
  bias?: Float32Array; alpha?: number; accumulate?: Float32Array;
}

/**
 * Float64 matmul with the backend's layout conventions. Returns the values and, per output,
 * Σ|a||b| (the scale that f32 rounding error is proportional to).
 */
export function matmulRef(a: Float32Array, b: Float32Array, o: MatmulRef): { value: Float64Array; scale: Float64Array } {
  const { M, N, K } = o;
  const batch = o.batch ?? 1;
  const value = new Float64Array(batch * M * N);
  const scale = new Float64Array(batch * M * N);
  for (let bi = 0; bi < batch; bi++) {
    const oa = bi * M * K;
    const ob = o.broadcastB ? 0 : bi * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        let mag = 0;
        for (let k = 0; k < K; k++) {
          const av = a[oa + (o.transA ? k * M + m : m * K + k)]!;
          const bv = b[ob + (o.transB ? n * K + k : k * N + n)]!;
          acc += av * bv;
          mag += Math.abs(av * bv);
        }
        const alpha = o.alpha ?? 1;
        const i = bi * M * N + m * N + n;
        let v = alpha * acc;
        let s = Math.abs(alpha) * mag;
        if (o.bias) { v += o.bias[n]!; s += Math.abs(o.bias[n]!); }
        if (o.accumulate) { v += o.accumulate[i]!; s += Math.abs(o.accumulate[i]!); }
        value[i] = v;
        scale[i] = s;
      }
    }
  }
  return { value, scale };
}

/**
 * Fails with the worst element unless |actual − expected| ≤ rtol·scale + atol everywhere.
 * `scale` defaults to |expected|.
 */
export function assertClose(
  actual: ArrayLike<number>, expected: ArrayLike<number>,
  { rtol = 1e-5, atol = 1e-6, scale, what = 'values' }: { rtol?: number; atol?: number; scale?: ArrayLike<number>; what?: string } = {},
): void {
  if (actual.length !== expected.length) throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    const tol = rtol * (scale ? scale[i]! : Math.abs(expected[i]!)) + atol;
    if (!(err <= tol) && (worst < 0 || err - tol > worstExcess)) {
      worst = i;
      worstExcess = err - tol;
    }
  }
  if (worst >= 0) {
    throw new Error(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (off by ${Math.abs(actual[worst]! - expected[worst]!)}, tolerance exceeded by ${worstExcess})`);
  }
}
