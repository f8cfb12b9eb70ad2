// Attention of T new queries against a key/value cache [B, Hkv, S, D] (incremental decoding):
// query i of row b sees the keys j ≤ start + i that keyMask marks real. Query head h reads KV
// head h / (H/Hkv) (grouped-query attention; Hkv = H is multi-head). One workgroup per
// (b, i, h); the keys stream through in tiles of WG, one key per invocation for the score,
// and an online softmax (running max m, running sum l) rescales the accumulators as the
// max grows, so no score row is ever stored. In the accumulation each invocation owns the
// head dimensions d ≡ li (mod WG), up to ACC of them.
struct Params {
  B: u32, T: u32, H: u32, D: u32,
  Hkv: u32,    // key/value heads of the cache, dividing H
  S: u32,      // cache positions
  W: u32,      // row width of qkv (q is its first H·D columns)
  start: u32,  // cache position of query 0
  gridX: u32,  // workgroups in the grid's x dimension
  scale: f32,  // 1/√D
}

@group(0) @binding(0) var<storage, read> qkv: array<f32>;        // [B, T, W]
@group(0) @binding(1) var<storage, read> kCache: array<f32>;     // [B, Hkv, S, D]
@group(0) @binding(2) var<storage, read> vCache: array<f32>;     // [B, Hkv, S, D]
@group(0) @binding(3) var<storage, read> keyMask: array<f32>;    // [B, S], 1 real token, 0 padding
@group(0) @binding(4) var<storage, read_write> out: array<f32>;  // [B, T, H·D]
@group(0) @binding(5) var<uniform> p: Params;

const WG = 64u;
const ACC = 4u; // head dimensions per invocation: D ≤ WG·ACC (MAX_CACHED_HEAD_DIM)
// The most negative finite f32 stands for "no key yet", so exp(m − mNew) never sees −inf − −inf.
const LOWEST = -3.4028234663852886e38;

var<workgroup> tileMax: array<f32, WG>;
var<workgroup> tileWeight: array<f32, WG>;

@compute @workgroup_size(WG)
fn cached_attention(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let r = wg.x + wg.y * p.gridX;
  if (r >= p.B * p.T * p.H) { return; }
  let h = r % p.H;
  let bi = r / p.H; // b·T + i
  let b = bi / p.T;
  let last = p.start + bi % p.T;
  let qBase = bi * p.W + h * p.D;
  let cacheBase = (b * p.Hkv + h / (p.H / p.Hkv)) * p.S * p.D;
  var m = LOWEST;
  var l = 0.0;
  var acc = array<f32, ACC>(0.0, 0.0, 0.0, 0.0);
  let tiles = last / WG + 1u;
  for (var tile = 0u; tile < tiles; tile++) {
    let j0 = tile * WG;
    let j = j0 + li;
    var s = LOWEST;
    if (j <= last && keyMask[b * p.S + j] >= 0.5) {
      var dot = 0.0;
      let k = cacheBase + j * p.D;
      for (var d = 0u; d < p.D; d++) { dot += qkv[qBase + d] * kCache[k + d]; }
      s = dot * p.scale;
    }
    tileMax[li] = s;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half >>= 1u) {
      if (li < half) { tileMax[li] = max(tileMax[li], tileMax[li + half]); }
      workgroupBarrier();
    }
    let mNew = max(m, tileMax[0]);
    // Hidden keys weigh exactly 0.
    tileWeight[li] = select(0.0, exp(s - mNew), s > LOWEST);
    workgroupBarrier();
    let rescale = exp(m - mNew);
    var tileSum = 0.0;
    let keys = min(WG, last + 1u - j0);
    for (var t = 0u; t < keys; t++) { tileSum += tileWeight[t]; }
    l = l * rescale + tileSum;
    for (var a = 0u; a < ACC; a++) {
      let d = li + a * WG;
      if (d < p.D) {
        var sum = 0.0;
        for (var t = 0u; t < keys; t++) { sum += tileWeight[t] * vCache[cacheBase + (j0 + t) * p.D + d]; }
        acc[a] = acc[a] * rescale + sum;
      }
    }
    m = mNew;
    // The next tile overwrites tileMax and tileWeight.
    workgroupBarrier();
  }
  let inv = select(0.0, 1.0 / l, l > 0.0);
  let o = bi * p.H * p.D + h * p.D;
  for (var a = 0u; a < ACC; a++) {
    let d = li + a * WG;
    if (d < p.D) { out[o + d] = acc[a] * inv; }
  }
}
