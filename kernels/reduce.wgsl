// Row reductions of a [rows, cols] f32 matrix: one workgroup per segment of a row (rows
// beyond 65535 wrap into the grid's y dimension), each invocation folds a strided slice,
// then a tree in workgroup memory. With segs > 1 each row is cut into segs segments of seg
// values and out[row·segs + s] gets segment s's result (a partial the host reduces again):
// software rasterisers built on Mesa's gallivm (llvmpipe, lavapipe) stop every loop of an
// invocation after 65535 iterations in total, so no invocation may loop that often. The
// pipeline constant OP picks the reduction. Results land from out[outStart] on: the host
// reduces a tensor larger than one binding in pieces, each into its own place.
//
// column_sum (out[c] += Σ_r a[r, c], the gradient of a bias) is the other direction: one
// invocation per column walks rows [rowStart, rowStart + rowCount) in order, so the sum is
// deterministic and needs no atomics; consecutive invocations read consecutive columns. The
// host dispatches it once per chunk of rows (the same 65535-iteration limit).
//! include lib/workgroup_reduce.wgsl
struct Params { rows: u32, cols: u32, gridX: u32, segs: u32, seg: u32, rowStart: u32, rowCount: u32, outStart: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// 0: sum, 1: max, 2: sum of squares (Σ a², for the global gradient norm).
override OP: u32 = 0u;
const WG = 256u;
const REDUCE_WG = WG;
const REDUCE_SLOTS = 1u;

fn combine(x: f32, y: f32) -> f32 {
  if (OP == 1u) { return max(x, y); }
  return x + y;
}

// What one element contributes: itself, or its square for sumsq.
fn term(x: f32) -> f32 {
  if (OP == 2u) { return x * x; }
  return x;
}

@compute @workgroup_size(WG)
fn reduce(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let w = wg.x + wg.y * p.gridX;
  let row = w / p.segs;
  let first = (w - row * p.segs) * p.seg;
  let count = min(p.seg, p.cols - min(first, p.cols));
  var acc = 0.0;
  if (row < p.rows) {
    let base = row * p.cols + first;
    // max starts from a real element of the segment (repeating one is harmless), so it needs
    // no identity value and a row of -inf reduces to -inf; sum and sumsq start from 0.
    if (OP == 1u) { acc = a[base + min(li, count - 1u)]; }
    for (var c = li; c < count; c += WG) { acc = combine(acc, term(a[base + c])); }
  }
  var total: f32;
  if (OP == 1u) {
    total = workgroupMax(0u, li, acc);
  } else {
    total = workgroupSum(0u, li, acc);
  }
  if (li == 0u && row < p.rows) { out[p.outStart + w] = total; }
}

// 64 columns per workgroup: a narrow bias (768 columns) still spreads over a dozen
// workgroups, i.e. over every CPU thread of a software rasteriser.
const CWG = 64u;

@compute @workgroup_size(CWG)
fn column_sum(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x + gid.y * p.gridX * CWG;
  if (c >= p.cols) { return; }
  var acc = 0.0;
  for (var r = p.rowStart; r < p.rowStart + p.rowCount; r++) { acc += a[r * p.cols + c]; }
  out[c] += acc;
}
