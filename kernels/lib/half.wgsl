// 16-bit storage of frozen weights (src/backend/dtype.ts): two values to a u32 word, the
// lower-indexed one in the low half. dtype 1 is bf16 (an f32's high half: a shift), 2 is f16
// (unpack2x16float, core WGSL: no shader-f16 needed). The WASM side's twin is wasm/lib/half.ts.

// Element i of a 16-bit array whose word holding it is w, as f32.
fn halfAt(w: u32, i: u32, dtype: u32) -> f32 {
  let odd = (i & 1u) == 1u;
  if (dtype == 1u) { return bitcast<f32>(select(w << 16u, w & 0xffff0000u, odd)); }
  let v = unpack2x16float(w);
  return select(v.x, v.y, odd);
}
