// randomUniform: counter-based uniforms (lib/philox.ts), the twin of kernels/random.wgsl.
import { philoxUniform } from './lib/philox';

/** out[i] = philoxUniform(key, stream, offset, i) for i < n. */
export function random_uniform(out: usize, n: i32, key0: u32, key1: u32, stream: u32, offset: u32): void {
  for (let i = 0; i < n; i++) store<f32>(out + <usize>i * 4, philoxUniform(key0, key1, stream, offset, <u32>i));
}
