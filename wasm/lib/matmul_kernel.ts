// The register-blocked micro-kernel: one MR×NR tile of C from an MR-row panel of packed A
// and an NR-column panel of packed B (see matmul_pack.ts for their layout).
//
// 2×16: 8 f32x4 accumulators; per k, four B vectors and two broadcast A values, 8 multiplies
// and 8 adds (no fused multiply-add without relaxed SIMD). Everything an iteration holds has
// to fit in the 15 xmm registers V8 allocates on x64 (8 + 4 + 2 + one product = 15); tiles
// that need more (6×8, 3×12, 4×12, 2×20) spill inside the loop and ran at half the speed.
// Few broadcasts per k also help: V8 cannot fold a load32_splat's offset into its address
// and spends an extra lea on each. Measured with the data in L1 on this machine (Zen 5,
// about 3.5 GHz, so 2 mul + 2 add f32x4 per cycle peak at about 55 GFLOP/s): 2×16 ≈ 54,
// 4×8 ≈ 45, 6×8 ≈ 21, 3×12 ≈ 22. In the whole matmul on Node 20, 2×16, 4×8 and 3×8 were
// within noise; on Deno's newer V8 (Turboshaft) 3×8 and 2×12 were up to 10% faster than
// 2×16. 2×16 stays: it is the fastest where it was measured most, and NR = 16 divides the
// widths common in models (multiples of 64), so edge tiles are rare.

export const MR = 2;
export const NR = 16;

/** acc + a·b, lane-wise. */
// @ts-ignore: decorator
@inline function madd(acc: v128, a: v128, b: v128): v128 {
  return f32x4.add(acc, f32x4.mul(a, b));
}

/** The first value of an accumulator: C's current value when kept, else zero. */
// @ts-ignore: decorator
@inline function start(c: usize, offset: usize, keep: bool): v128 {
  return keep ? v128.load(c + offset) : f32x4.splat(0);
}

/**
 * C[0..MR)[0..NR) = (C when keep, else 0) + Ap·Bp over kc steps; ldc is C's row stride in
 * bytes. Ap holds MR floats per k (alpha is folded in when A is packed), Bp NR floats per k.
 * C is loaded before the loop rather than after it so that a cache miss on C overlaps the
 * loop instead of stalling the write-back. Inlined into matmul.ts's macroKernel, whose loop
 * nest lets V8 unroll the k loop (V8 unrolls small loops more the deeper they are nested).
 */
// @ts-ignore: decorator
@inline export function microKernel(kc: i32, pa: usize, pb: usize, c: usize, ldc: usize, keep: bool): void {
  const c1 = c + ldc;
  let c00 = start(c, 0, keep), c01 = start(c, 16, keep), c02 = start(c, 32, keep), c03 = start(c, 48, keep);
  let c10 = start(c1, 0, keep), c11 = start(c1, 16, keep), c12 = start(c1, 32, keep), c13 = start(c1, 48, keep);
  const end = pb + <usize>kc * (NR * 4);
  while (pb < end) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16), b2 = v128.load(pb, 32), b3 = v128.load(pb, 48);
    const a0 = v128.load32_splat(pa);
    c00 = madd(c00, a0, b0);
    c01 = madd(c01, a0, b1);
    c02 = madd(c02, a0, b2);
    c03 = madd(c03, a0, b3);
    const a1 = v128.load32_splat(pa, 4);
    c10 = madd(c10, a1, b0);
    c11 = madd(c11, a1, b1);
    c12 = madd(c12, a1, b2);
    c13 = madd(c13, a1, b3);
    pa += MR * 4;
    pb += NR * 4;
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c, c02, 32);
  v128.store(c, c03, 48);
  v128.store(c1, c10);
  v128.store(c1, c11, 16);
  v128.store(c1, c12, 32);
  v128.store(c1, c13, 48);
}
