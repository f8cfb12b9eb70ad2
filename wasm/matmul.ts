// out[b] = alpha · op(A[b]) · op(B[b]) (+ bias) (+ out[b] when accumulate), row-major f32.
// Pointers are byte offsets into linear memory; strides are in elements (strideB 0 broadcasts B).
// B may be stored in 16 bits (bType 1 bf16, 2 f16: frozen weights): its packing decodes it.
//
// A GotoBLAS/BLIS-style blocked GEMM, WebAssembly SIMD (128-bit, no relaxed SIMD). For each NC-wide column block of B and KC-deep slice of K, B's slice is
// packed once (1 MiB, L2/L3) and reused by every MC-row block of A, whose packed copy stays
// in L2; the macro-kernel then holds one KC×NR panel of B in L1 while MR×KC panels of A
// stream past it, and the micro-kernel (matmul_kernel.ts) computes one MR×NR tile of C in
// registers. Packing also turns transposed operands into the kernel's layout, so Aᵀ and Bᵀ
// run the same kernel at nearly the same speed.
import { MR, NR, microKernel } from './lib/matmul_kernel';
import { packPanels } from './lib/matmul_pack';
import { packHalfPanels } from './lib/matmul_pack_half';

// Block sizes. Measured on a Zen 5 core (48 KiB L1d, 1 MiB L2): KC from 128 to 512 and MC,
// NC from half to twice these were all within noise of each other at 256³–1024³.
const KC = 256; // a 256×16 B panel (16 KiB) and a 2×256 A panel share L1
const MC = 64 * MR; // 128×256 floats = 128 KiB packed A block, inside L2
const NC = 64 * NR; // 256×1024 floats = 1 MiB packed B block

// Scratch for the packed blocks and one edge tile (about 1.1 MiB), given by JavaScript: one
// slice per thread (src/backend/wasm/wasm_backend.ts). Globals are per instance, so each
// thread's instance points these at its own slice on entry.
const PACKED_A_BYTES = MC * KC * 4;
const PACKED_B_BYTES = KC * NC * 4;
let packedA: usize = 0;
let packedB: usize = 0;
let edgeTile: usize = 0;

/** Scratch bytes one thread's part of a matmul needs (a multiple of 64). */
export function matmul_scratch_bytes(): i32 {
  return PACKED_A_BYTES + PACKED_B_BYTES + MR * NR * 4 + 64;
}

/**
 * Threads: the call is split into `parts` and this computes part `part`: a share of the
 * batch entries when there are at least `parts`, else a share of the rows (whole MR tiles).
 * Each output element is computed by the same code in every split, so results do not depend
 * on the thread count.
 */
export function matmul(
  a: usize, b: usize, bias: usize, out: usize,
  M: i32, N: i32, K: i32, batch: i32,
  strideA: i32, strideB: i32, strideOut: i32,
  transA: bool, transB: bool, alpha: f32, accumulate: bool, bType: i32,
  scratch: usize, scratchStride: i32, part: i32, parts: i32,
): void {
  packedA = scratch + <usize>part * <usize>scratchStride;
  packedB = packedA + PACKED_A_BYTES;
  edgeTile = packedB + PACKED_B_BYTES;
  // A batch of row-major A against one broadcast B is a single product with batch·M rows:
  // B is packed once instead of once per batch entry.
  if (strideB == 0 && !transA && strideA == M * K && strideOut == M * N) {
    M *= batch;
    batch = 1;
  }
  // Element strides of A along (m, k) and of B along (n, k); see matmul_pack.ts.
  const ars: usize = transA ? 1 : <usize>K, aks: usize = transA ? <usize>M : 1;
  const brs: usize = transB ? <usize>K : 1, bks: usize = transB ? 1 : <usize>N;
  let b0 = 0, b1 = batch, m0 = 0, m1 = M;
  if (batch >= parts) {
    b0 = share(batch, part, parts, 1);
    b1 = share(batch, part + 1, parts, 1);
  } else {
    m0 = min(M, share(M, part, parts, MR));
    m1 = min(M, share(M, part + 1, parts, MR));
  }
  const rows = m1 - m0;
  if (rows <= 0) return;
  for (let bi = b0; bi < b1; bi++) {
    const pa = a + (<usize>bi * <usize>strideA + <usize>m0 * ars) * 4;
    const pb = b + <usize>bi * <usize>strideB * (bType == 0 ? 4 : 2);
    const po = out + (<usize>bi * <usize>strideOut + <usize>m0 * <usize>N) * 4;
    // The kernel adds its product into out or overwrites it. Bias (and K = 0 without
    // accumulate) is written first so that every later step is a plain add.
    const preset = bias != 0 || (K == 0 && !accumulate);
    if (preset) presetOut(po, bias, rows, N, accumulate);
    gemm(pa, ars, aks, pb, brs, bks, bType, po, rows, N, K, alpha, preset || accumulate);
  }
}

/** Where share `i` of `parts` starts in [0, n), rounded to a multiple of `unit`. */
function share(n: i32, i: i32, parts: i32, unit: i32): i32 {
  const units = (n + unit - 1) / unit;
  return <i32>(<i64>units * i / parts) * unit;
}

/** out = (out if accumulate, else 0) + bias broadcast over rows (bias 0: none). */
function presetOut(out: usize, bias: usize, M: i32, N: i32, accumulate: bool): void {
  const rowBytes = <usize>N * 4;
  if (!bias) {
    if (!accumulate) memory.fill(out, 0, <usize>M * rowBytes);
    return;
  }
  for (let m = 0; m < M; m++) {
    const row = out + <usize>m * rowBytes;
    let i: usize = 0;
    for (; i + 16 <= rowBytes; i += 16) {
      const v = v128.load(bias + i);
      v128.store(row + i, accumulate ? f32x4.add(v128.load(row + i), v) : v);
    }
    for (; i < rowBytes; i += 4) {
      const v = load<f32>(bias + i);
      store<f32>(row + i, accumulate ? load<f32>(row + i) + v : v);
    }
  }
}

/** C (+)= alpha · A·B for one batch entry; `keep` says whether C's values are kept. */
function gemm(
  a: usize, ars: usize, aks: usize, b: usize, brs: usize, bks: usize, bType: i32, c: usize,
  M: i32, N: i32, K: i32, alpha: f32, keep: bool,
): void {
  const ldc = <usize>N * 4;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const from = <usize>jc * brs + <usize>pc * bks;
      if (bType == 0) packPanels(b + from * 4, brs, bks, nc, kc, NR, 1, packedB);
      else packHalfPanels(b + from * 2, brs, bks, nc, kc, NR, bType, packedB);
      const kept = keep || pc > 0;
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packPanels(a + (<usize>ic * ars + <usize>pc * aks) * 4, ars, aks, mc, kc, MR, alpha, packedA);
        macroKernel(c + <usize>ic * ldc + <usize>jc * 4, ldc, mc, nc, kc, kept);
      }
    }
  }
}

/**
 * C[0..mc)[0..nc) (+)= packedA · packedB, tile by tile. Column panels outside, row panels
 * inside: one B panel stays in L1 while the A panels stream past it from L2. Kept as its
 * own small function so the micro-kernel's loop sits in a loop nest with few live values:
 * V8 then unrolls it and keeps every pointer in a register.
 */
function macroKernel(c: usize, ldc: usize, mc: i32, nc: i32, kc: i32, keep: bool): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const pb = packedB + <usize>jr * <usize>kc * 4;
    for (let ir = 0; ir < mc; ir += MR) {
      const pa = packedA + <usize>ir * <usize>kc * 4;
      tile(kc, pa, pb, c + <usize>ir * ldc + <usize>jr * 4, ldc, min(MR, mc - ir), min(NR, nc - jr), keep);
    }
  }
}

/**
 * One tile. A partial tile (mr < MR or nr < NR, at the right and bottom edges) runs the same
 * kernel on a copy in edgeTile, so the kernel never reads or writes outside C.
 */
// @ts-ignore: decorator
@inline function tile(kc: i32, pa: usize, pb: usize, c: usize, ldc: usize, mr: i32, nr: i32, keep: bool): void {
  const edge = mr < MR || nr < NR;
  let ct = c, ldt = ldc;
  if (edge) {
    if (keep) copyTile(c, ldc, edgeTile, NR * 4, mr, nr);
    ct = edgeTile;
    ldt = NR * 4;
  }
  microKernel(kc, pa, pb, ct, ldt, keep);
  if (edge) copyTile(edgeTile, NR * 4, c, ldc, mr, nr);
}

/** Copies an mr×nr block of floats; strides in bytes. */
function copyTile(src: usize, srcStride: usize, dst: usize, dstStride: usize, mr: i32, nr: i32): void {
  for (let i = 0; i < mr; i++) {
    memory.copy(dst, src, <usize>nr * 4);
    src += srcStride;
    dst += dstStride;
  }
}
