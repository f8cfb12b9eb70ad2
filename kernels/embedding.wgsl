// Row gathers and their backward, a grouped scatter-add. Integer inputs (token ids,
// positions, row indices) arrive as f32 holding exact integers (< 2^24) and are converted
// with u32(); an index past its table is clamped so a bad id cannot read out of bounds.
//
// One workgroup per output row (rows beyond 65535 wrap into the grid's y dimension); its
// invocations stride over the row's C columns, so every load and store is contiguous.
//
// The table (wte, the gathered table, the scatter's destination) may be bound as a window of
// its rows lo..hi starting at element `base`: a dispatch then serves only the ids (targets)
// in that window, and the host runs one dispatch per window of a table larger than one
// binding (a vocabulary's embedding or its gradient).
//
// The tables (wte, wpe, the gathered table) may be stored in 16 bits (TABLE_DTYPE,
// WPE_DTYPE: frozen weights in bf16 or f16), so both are bound as raw words and read through
// tableAt / wpeAt, which are plain bitcasts for f32.
//
// Each entry point uses a subset of the bindings below; 'auto' layout leaves the rest out.
//! include lib/half.wgsl
struct Params {
  rows: u32,  // N output rows (embedding, gather_rows) or U groups (scatter_add_rows)
  C: u32,     // row width
  V: u32,     // rows of wte / table / dst
  P: u32,     // rows of wpe
  gridX: u32, // workgroups in the grid's x dimension
  // scatter_add_rows: workgroups per group (64 columns each), and the window of each group's
  // rows this dispatch adds: rows starts[g] + first .. + first + count. Mesa's gallivm
  // (llvmpipe, lavapipe) ends an invocation's loops after 65535 iterations, so the host
  // splits groups longer than that into windows, one dispatch each.
  colBlocks: u32, first: u32, count: u32,
  lo: u32, hi: u32, base: u32, // the table rows this dispatch's binding holds, from element base
}

@group(0) @binding(0) var<storage, read> ids: array<f32>;      // embedding: token ids [N]; gather_rows: index [N]
@group(0) @binding(1) var<storage, read> pos: array<f32>;      // embedding: positions [N]
@group(0) @binding(2) var<storage, read> table: array<u32>;    // wte [V, C] / gather table [V, C] (windows) / scatter src [R, C]
@group(0) @binding(3) var<storage, read> wpe: array<u32>;      // [P, C]
@group(0) @binding(4) var<storage, read> order: array<f32>;    // scatter: source rows grouped by destination [R]
@group(0) @binding(5) var<storage, read> starts: array<f32>;   // scatter: group g is order[starts[g] .. starts[g+1]) [U + 1]
@group(0) @binding(6) var<storage, read> targets: array<f32>;  // scatter: destination row of each group [U]
@group(0) @binding(7) var<storage, read_write> out: array<f32>; // [N, C] or scatter dst [V, C] (windows)
@group(0) @binding(8) var<uniform> p: Params;

const WG = 64u;
// How table and wpe are stored: 0 f32, 1 bf16, 2 f16 (DTYPE_CODES). scatter_add_rows's src is f32.
override TABLE_DTYPE: u32 = 0u;
override WPE_DTYPE: u32 = 0u;

fn tableAt(i: u32) -> f32 {
  if (TABLE_DTYPE == 0u) { return bitcast<f32>(table[i]); }
  return halfAt(table[i >> 1u], i, TABLE_DTYPE);
}

fn wpeAt(i: u32) -> f32 {
  if (WPE_DTYPE == 0u) { return bitcast<f32>(wpe[i]); }
  return halfAt(wpe[i >> 1u], i, WPE_DTYPE);
}

fn rowOf(wg: vec3<u32>) -> u32 {
  return wg.x + wg.y * p.gridX;
}

// out[n] = wte[ids[n]] + wpe[pos[n]]
@compute @workgroup_size(WG)
fn embedding(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let n = rowOf(wg);
  if (n >= p.rows) { return; }
  let id = min(u32(ids[n]), p.V - 1u);
  if (id < p.lo || id >= p.hi) { return; }
  let t = id * p.C - p.base;
  let q = min(u32(pos[n]), p.P - 1u) * p.C;
  let o = n * p.C;
  for (var c = li; c < p.C; c += WG) { out[o + c] = tableAt(t + c) + wpeAt(q + c); }
}

// out[n] = table[index[n]]
@compute @workgroup_size(WG)
fn gather_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let n = rowOf(wg);
  if (n >= p.rows) { return; }
  let id = min(u32(ids[n]), p.V - 1u);
  if (id < p.lo || id >= p.hi) { return; }
  let t = id * p.C - p.base;
  let o = n * p.C;
  for (var c = li; c < p.C; c += WG) { out[o + c] = tableAt(t + c); }
}

// dst[targets[g]] += Σ src[order[i]], i over group g in ascending order. Groups have distinct
// targets, so each destination element is written by exactly one invocation: no atomics, and
// the sum's order is fixed (deterministic, and the same as the WASM backend's). One
// workgroup per (group, 64 columns), one column per invocation, which loops over the group.
@compute @workgroup_size(WG)
fn scatter_add_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let w = rowOf(wg);
  let g = w / p.colBlocks;
  let c = (w - g * p.colBlocks) * WG + li;
  if (g >= p.rows || c >= p.C) { return; }
  let row = min(u32(targets[g]), p.V - 1u);
  if (row < p.lo || row >= p.hi) { return; }
  let start = u32(starts[g]);
  let end = u32(starts[g + 1u]);
  let first = start + min(p.first, end - start);
  let last = start + min(p.first + p.count, end - start);
  if (first >= last) { return; }
  var acc = 0.0;
  for (var i = first; i < last; i++) { acc += tableAt(u32(order[i]) * p.C + c); }
  out[row * p.C - p.base + c] += acc;
}
