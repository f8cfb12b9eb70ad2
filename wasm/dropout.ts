// dropout: the twin of kernels/dropout.wgsl. The mask is randomUniform's (lib/philox.ts), so
// it matches the host's philoxUniforms thresholded, element for element.
import { philoxUniform } from './lib/philox';
import { rowShare } from './lib/row_share';

/**
 * out[i] (+)= x[i] · (u_i ≥ threshold ? scale : 0), u_i = philoxUniform(key, stream, offset, i),
 * for i < n (threshold 0: keep all, draw nothing). Each thread takes a contiguous share of
 * the elements, each computed alike, so results do not depend on the split.
 */
export function dropout(
  x: usize, out: usize, n: i32, key0: u32, key1: u32, stream: u32, offset: u32, threshold: f32, scale: f32, accumulate: i32, part: i32, parts: i32,
): void {
  const end = rowShare(n, part + 1, parts);
  for (let i = rowShare(n, part, parts); i < end; i++) {
    let factor = scale;
    if (threshold > 0 && philoxUniform(key0, key1, stream, offset, <u32>i) < threshold) factor = 0;
    // x · 0, not 0, for a dropped value (as PyTorch): a NaN or ±inf in x stays visible.
    const at = out + (<usize>i << 2);
    let y = load<f32>(x + (<usize>i << 2)) * factor;
    if (accumulate) y += load<f32>(at);
    store<f32>(at, y);
  }
}
