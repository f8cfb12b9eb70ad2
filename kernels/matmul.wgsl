// out[b] = alpha · op(A[b]) · op(B[b]) (+ bias) (+ out[b] when accumulating). Row-major f32.
// Strides in elements; strideB = 0 broadcasts B to every batch.
//
// A dispatch computes one block of the product: batch entries batchStart..batch, rows
// rowStart..rowEnd, columns colStart..colEnd, summing k over kStart..kEnd. Indices are the
// whole product's; each operand's binding may be a window of its tensor that starts at
// element offA / offB / offOut (subtracted from every index). The host splits a product whose
// operands exceed one binding into such blocks; otherwise one block is the whole product.
//
// Register-blocked, no workgroup memory: each invocation computes an R × 4C block of out
// (C vec4 columns), stepping K four at a time; per step it loads R + 4C vec4s and does
// 4·R·C vec4 FMAs (mat4x4 products). On software rasterisers loads are what cost (llvmpipe
// runs 8 invocations per SIMD vector and fetches each lane's load one by one) and barriers
// are coroutine switches, so the block is large, every load is a vec4, and nothing is staged
// through workgroup memory (that measured ~35% slower on llvmpipe). Hardware GPUs get a
// small block through the R and C constants.
//
// B may be stored in 16 bits (B_DTYPE: frozen weights in bf16 or f16, two values to a u32
// word): it is bound as raw words, and loadB gives the same vec4<f32> an f32 B would, so the
// kernel computes in f32 either way and the f32 form compiles to the loads it always had.
//
// Every buffer is viewed as vec4s (tensor buffers are padded to 16 bytes). Where the stored
// rows of an operand are not whole vec4s (ALIGNED_* false), each 4 floats are a window over
// two aligned vec4s, and consecutive windows share a vec4, so this costs little more than
// aligned loads. Rows and columns past M and N are clamped or read as garbage and never
// stored; the last, partial K step is zeroed with selects (multiplying by 0 would turn ±Inf
// garbage into NaN). Loops that index acc have constant trip counts and index it by their
// own counter (the loop over K aside), the shape that Mesa's GLSL (Dawn) and SPIR-V (wgpu)
// paths both unroll fully; a dynamic index would move acc to slow, indexed memory.
struct Params {
  M: u32, N: u32, K: u32,
  batch: u32, // the block's end in the batch
  strideA: u32, strideB: u32, strideOut: u32,
  tilesX: u32, // workgroup tiles across the block's columns
  tilesY: u32, // workgroup tiles down the block's rows
  gridX: u32,  // workgroups in the dispatch's x dimension
  alpha: f32,
  batchStart: u32, rowStart: u32, rowEnd: u32, colStart: u32, colEnd: u32, kStart: u32, kEnd: u32,
  offA: u32, offB: u32, offOut: u32,
}

// Block per invocation: R rows by C vec4 columns (R a multiple of 4), at most RMAX × CMAX.
// Software rasterisers want the largest block (loads cost more than FMAs there); hardware
// GPUs a small one (registers are per invocation and spills go to slow memory).
const RMAX = 16u;
const CMAX = 4u;
override R: u32 = RMAX;
override C: u32 = CMAX;
// Invocations per workgroup, x along N and y along M.
override WX: u32 = 8u;
override WY: u32 = 8u;
// A is stored [K, M] / B is stored [N, K].
override TRANS_A: bool = false;
override TRANS_B: bool = false;
// The operand's stored rows (and batch strides) are whole vec4s: plain vec4 loads suffice.
override ALIGNED_A: bool = false;
override ALIGNED_B: bool = false;
// N % 4 == 0: rows of out and the bias are whole vec4s.
override ALIGNED_OUT: bool = false;
// Add bias[n] to column n.
override HAS_BIAS: bool = false;
// Add the result to what out holds.
override ACCUMULATE: bool = false;
// How B is stored: 0 f32, 1 bf16, 2 f16 (src/backend/dtype.ts's DTYPE_CODES).
override B_DTYPE: u32 = 0u;

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;

// B's elements 4q .. 4q+3 as f32 (loads clamp q to lastB, B's last vec4 of elements).
fn loadB(q: u32) -> vec4<f32> {
  if (B_DTYPE == 0u) { return bitcast<vec4<f32>>(b[q]); }
  // 16-bit: elements 4q .. 4q+3 are one half of a vec4<u32>, two to a word, low half first.
  let w = b[q >> 1u];
  let h = select(w.xy, w.zw, (q & 1u) == 1u);
  if (B_DTYPE == 1u) {
    // bf16 is the high half of an f32.
    return bitcast<vec4<f32>>(vec4(h.x << 16u, h.x & 0xffff0000u, h.y << 16u, h.y & 0xffff0000u));
  }
  return vec4(unpack2x16float(h.x), unpack2x16float(h.y));
}

// The index of B's last vec4 of elements (4 f32s to a vec4<u32>, 8 halves).
fn lastOfB() -> u32 {
  if (B_DTYPE == 0u) { return arrayLength(&b) - 1u; }
  return 2u * arrayLength(&b) - 1u;
}

// The 4 floats that start s elements into `lo` and run on into `hi`.
fn window(lo: vec4<f32>, hi: vec4<f32>, s: u32) -> vec4<f32> {
  let v1 = vec4(lo.yzw, hi.x);
  let v2 = vec4(lo.zw, hi.xy);
  let v3 = vec4(lo.w, hi.xyz);
  return select(select(select(lo, v1, s == 1u), v2, s == 2u), v3, s == 3u);
}

// bias[n .. n+3]
fn loadBias(n: u32) -> vec4<f32> {
  let last = arrayLength(&bias) - 1u;
  let q = min(n >> 2u, last);
  if (ALIGNED_OUT) { return bias[q]; }
  return window(bias[q], bias[min(q + 1u, last)], n & 3u);
}

// x with column i zeroed where keep[i] is false.
fn zeroColumns(x: mat4x4<f32>, keep: vec4<bool>) -> mat4x4<f32> {
  let z = vec4(0.0);
  return mat4x4(select(z, x[0], keep.x), select(z, x[1], keep.y), select(z, x[2], keep.z), select(z, x[3], keep.w));
}

// First element of row m of A stored [M, K] (a clamped row: its values are never stored).
fn rowA(baseA: u32, m: u32) -> u32 { return baseA + min(m, p.rowEnd - 1u) * p.K; }
// First element of column n of B stored [N, K], likewise clamped.
fn colB(baseB: u32, n: u32) -> u32 { return baseB + min(n, p.colEnd - 1u) * p.K; }

@compute @workgroup_size(WX, WY)
fn matmul(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  // The grid is folded into x and y (each ≤ 65535); unfold it into tile column, tile row, batch.
  let w = wg.x + wg.y * p.gridX;
  let tile = w % p.tilesX;
  let rest = w / p.tilesX;
  let bi = p.batchStart + rest / p.tilesY;
  let m0 = p.rowStart + ((rest % p.tilesY) * WY + lid.y) * R;
  let n0 = p.colStart + (tile * WX + lid.x) * C * 4u;
  // Bounds are the block's ends; M, N and K are the stored operands' row lengths.
  let M = p.M;
  let N = p.N;
  let rowEnd = p.rowEnd;
  let colEnd = p.colEnd;
  let kEnd = p.kEnd;
  if (bi >= p.batch || m0 >= rowEnd || n0 >= colEnd) { return; }
  let baseA = bi * p.strideA - p.offA;
  let baseB = bi * p.strideB - p.offB;

  let lastA = arrayLength(&a) - 1u;
  let lastB = lastOfB();
  // Where A's rows run along K (and B's along K when transposed), row r of A starts at
  // element rowA(r) and column t of B at colB(t), both clamped to real rows and columns.
  // Unaligned, each such row is read as a sliding window: the upper vec4 of one K step is
  // the lower vec4 of the next, so it is carried over and each step loads one vec4.
  var carryA: array<vec4<f32>, RMAX>;
  var carryB: array<vec4<f32>, 4u * CMAX>;
  if (!ALIGNED_A && !TRANS_A) {
    for (var r = 0u; r < R; r++) { carryA[r] = a[min((rowA(baseA, m0 + r) + p.kStart) >> 2u, lastA)]; }
  }
  if (!ALIGNED_B && TRANS_B) {
    for (var t = 0u; t < 4u * C; t++) { carryB[t] = loadB(min((colB(baseB, n0 + t) + p.kStart) >> 2u, lastB)); }
  }

  // acc[r][c] = out[m0 + r][n0 + 4c .. n0 + 4c + 3]
  var acc: array<array<vec4<f32>, CMAX>, RMAX>;
  for (var k = p.kStart; k < kEnd; k += 4u) {
    // The last step may run past the block's K: zero those parts of both operands.
    let tail = k + 4u > kEnd;
    let keep = vec4(k, k + 1u, k + 2u, k + 3u) < vec4(kEnd);

    // bK[c][kk] = B[k + kk][n0 + 4c .. n0 + 4c + 3]
    var bK: array<mat4x4<f32>, CMAX>;
    if (TRANS_B) {
      for (var c = 0u; c < C; c++) {
        var cols: mat4x4<f32>; // cols[jj] = B[k .. k+3][n0 + 4c + jj]
        for (var jj = 0u; jj < 4u; jj++) {
          let t = 4u * c + jj;
          let e = colB(baseB, n0 + t) + k;
          if (ALIGNED_B) {
            cols[jj] = loadB(min(e >> 2u, lastB));
          } else {
            let hi = loadB(min((e >> 2u) + 1u, lastB));
            cols[jj] = window(carryB[t], hi, e & 3u);
            carryB[t] = hi;
          }
        }
        bK[c] = transpose(cols);
      }
    } else {
      // Row k + kk of B, from column n0: C windows that share their ends (C + 1 loads).
      for (var kk = 0u; kk < 4u; kk++) {
        let e = baseB + (k + kk) * N + n0;
        var lo: vec4<f32>;
        if (!ALIGNED_B) { lo = loadB(min(e >> 2u, lastB)); }
        for (var c = 0u; c < C; c++) {
          let q = (e >> 2u) + c;
          if (ALIGNED_B) {
            bK[c][kk] = loadB(min(q, lastB));
          } else {
            let hi = loadB(min(q + 1u, lastB));
            bK[c][kk] = window(lo, hi, e & 3u);
            lo = hi;
          }
        }
      }
    }
    if (tail) {
      for (var c = 0u; c < C; c++) { bK[c] = zeroColumns(bK[c], keep); }
    }

    // One row of A at a time, used as soon as it is loaded (fewer values live at once).
    var aT: mat4x4<f32>; // Aᵀ: aT[i] = A[m0 + r - r % 4 + i][k .. k+3]
    var run: mat4x4<f32>; // Aᵀ unaligned: the vec4 each stored row k + kk carries on
    for (var r = 0u; r < R; r++) {
      var av: vec4<f32>; // A[m0 + r][k .. k+3]
      if (TRANS_A) {
        // Stored rows k .. k+3 hold 4 rows of A side by side: read and transpose them once.
        if (r % 4u == 0u) {
          var rows: mat4x4<f32>; // rows[kk] = A[m0 + r .. m0 + r + 3][k + kk]
          for (var kk = 0u; kk < 4u; kk++) {
            let e = baseA + (k + kk) * M + m0 + r;
            if (ALIGNED_A) {
              rows[kk] = a[min(e >> 2u, lastA)];
            } else {
              if (r == 0u) { run[kk] = a[min(e >> 2u, lastA)]; }
              let hi = a[min((e >> 2u) + 1u, lastA)];
              rows[kk] = window(run[kk], hi, e & 3u);
              run[kk] = hi;
            }
          }
          if (tail) { rows = zeroColumns(rows, keep); }
          aT = transpose(rows);
        }
        av = aT[r % 4u];
      } else {
        let e = rowA(baseA, m0 + r) + k;
        if (ALIGNED_A) {
          av = a[min(e >> 2u, lastA)];
        } else {
          let hi = a[min((e >> 2u) + 1u, lastA)];
          av = window(carryA[r], hi, e & 3u);
          carryA[r] = hi;
        }
        if (tail) { av = select(vec4(0.0), av, keep); }
      }
      for (var c = 0u; c < C; c++) { acc[r][c] += bK[c] * av; }
    }
  }

  // out = alpha·acc (+ bias) (+ out), stored only inside the block.
  for (var c = 0u; c < C; c++) {
    var add = vec4(0.0);
    if (HAS_BIAS) { add = loadBias(n0 + 4u * c); }
    for (var r = 0u; r < R; r++) { acc[r][c] = p.alpha * acc[r][c] + add; }
  }
  let baseOut = bi * p.strideOut - p.offOut;
  if (ALIGNED_OUT) {
    for (var r = 0u; r < R; r++) {
      let m = m0 + r;
      for (var c = 0u; c < C; c++) {
        let q = (baseOut + m * N + n0) / 4u + c;
        if (m < rowEnd && n0 + 4u * c < colEnd) {
          var v = acc[r][c];
          if (ACCUMULATE) { v += out[q]; }
          out[q] = v;
        }
      }
    }
  } else {
    // Rows start mid-vec4, so store element by element (a vec4 store would straddle rows or
    // another invocation's columns): column t of every row, then shift acc left by one
    // column, which keeps acc's indices constant (dynamic ones would move it out of registers).
    for (var t = 0u; t < min(colEnd - n0, 4u * C); t++) {
      for (var r = 0u; r < R; r++) {
        let m = m0 + r;
        let e = baseOut + m * N + n0 + t;
        if (m < rowEnd) {
          var x = acc[r][0].x;
          if (ACCUMULATE) { x += out[e >> 2u][e & 3u]; }
          out[e >> 2u][e & 3u] = x;
        }
        for (var c = 0u; c < C; c++) {
          let next = select(0.0, acc[r][min(c + 1u, C - 1u)].x, c + 1u < C);
          acc[r][c] = vec4(acc[r][c].yzw, next);
        }
      }
    }
  }
}
