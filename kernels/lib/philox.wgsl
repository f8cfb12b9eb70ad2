// Philox4x32-10, the counter-based generator of src/random/philox.ts (Salmon et al., SC 2011),
// and the uniform it gives. Included by the kernels that draw random numbers (random.wgsl,
// sampling.wgsl).
const PHILOX_M0 = 0xD2511F53u;
const PHILOX_M1 = 0xCD9E8D57u;
const PHILOX_W = vec2<u32>(0x9E3779B9u, 0xBB67AE85u);

// High 32 bits of a·b. WGSL has no 64-bit integers, so from 16-bit halves: every partial
// product fits in 32 bits, and so does the sum of the middle terms' carries.
fn mulhi(a: u32, b: u32) -> u32 {
  let al = a & 0xFFFFu;
  let ah = a >> 16u;
  let bl = b & 0xFFFFu;
  let bh = b >> 16u;
  let lh = al * bh;
  let hl = ah * bl;
  let mid = ((al * bl) >> 16u) + (lh & 0xFFFFu) + (hl & 0xFFFFu);
  return ah * bh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}

// The Philox4x32-10 block of (counter, key). u32 products wrap, which gives the low halves.
fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let hi0 = mulhi(PHILOX_M0, c.x);
    let hi1 = mulhi(PHILOX_M1, c.z);
    c = vec4<u32>(hi1 ^ c.y ^ k.x, PHILOX_M1 * c.z, hi0 ^ c.w ^ k.y, PHILOX_M0 * c.x);
    k += PHILOX_W;
  }
  return c;
}

// A uniform in [0, 1): the word's top 24 bits · 2⁻²⁴, exact in f32.
fn uniformFromBits(word: u32) -> f32 {
  return f32(word >> 8u) * (1.0 / 16777216.0);
}

// The uniform of element i of a draw: word 0 of block (stream + i, offset, 0, 0).
fn philoxUniform(key: vec2<u32>, stream: u32, offset: u32, i: u32) -> f32 {
  return uniformFromBits(philox(vec4<u32>(stream + i, offset, 0u, 0u), key).x);
}
