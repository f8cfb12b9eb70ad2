// Philox4x32-10, the counter-based generator of src/random/philox.ts (Salmon et al., SC
// 2011), shared by random_uniform and by sample_tokens' one draw per row. u64 products give
// the high and low halves directly.
const M0: u64 = 0xD2511F53;
const M1: u64 = 0xCD9E8D57;
const W0: u32 = 0x9E3779B9;
const W1: u32 = 0xBB67AE85;

/** The uniform of element i of a draw: word 0 of block (stream + i, offset, 0, 0), top 24 bits · 2⁻²⁴. */
// @ts-ignore: decorator
@inline export function philoxUniform(k0: u32, k1: u32, stream: u32, offset: u32, i: u32): f32 {
  let c0 = stream + i, c1 = offset, c2: u32 = 0, c3: u32 = 0;
  for (let r = 0; r < 10; r++) {
    const p0 = M0 * <u64>c0;
    const p1 = M1 * <u64>c2;
    c0 = <u32>(p1 >> 32) ^ c1 ^ k0;
    c2 = <u32>(p0 >> 32) ^ c3 ^ k1;
    c1 = <u32>p1;
    c3 = <u32>p0;
    k0 += W0;
    k1 += W1;
  }
  return <f32>(c0 >>> 8) * (1.0 / 16777216.0);
}
