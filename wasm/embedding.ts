// Token and position embeddings and their backward (a grouped scatter-add), plus the plain
// row gather. Integer inputs arrive as f32 holding integers; an index outside its table is
// clamped into it, so a bad id reads a wrong row but never memory outside the table.
import { decodeHalves, loadHalf, loadHalf4 } from './lib/half';
import { tableRow } from './lib/table_row';

/**
 * out[n] = wte[ids[n]] + wpe[pos[n]]; wte [V, C], wpe [P, C], out [N, C]. The tables may be
 * stored in 16 bits (wteType, wpeType: 1 bf16, 2 f16; frozen weights).
 */
export function embedding(ids: usize, pos: usize, wte: usize, wpe: usize, out: usize, N: i32, C: i32, V: i32, P: i32, wteType: i32, wpeType: i32): void {
  const rowBytes = <usize>C * 4;
  if (wteType != 0 || wpeType != 0) {
    for (let n = 0; n < N; n++) {
      const o = out + <usize>n * rowBytes;
      rowInto(wte, tableRow(ids, n, V), C, wteType, o);
      addRow(wpe, tableRow(pos, n, P), C, wpeType, o);
    }
    return;
  }
  for (let n = 0; n < N; n++) {
    const a = wte + tableRow(ids, n, V) * rowBytes;
    const b = wpe + tableRow(pos, n, P) * rowBytes;
    const o = out + <usize>n * rowBytes;
    let i: usize = 0;
    for (; i + 16 <= rowBytes; i += 16) v128.store(o + i, f32x4.add(v128.load(a + i), v128.load(b + i)));
    for (; i < rowBytes; i += 4) store<f32>(o + i, load<f32>(a + i) + load<f32>(b + i));
  }
}

/** out[n] = table[index[n]]; table [V, C] (in 16 bits when tableType is 1 bf16 or 2 f16), out [N, C]. */
export function gather_rows(table: usize, index: usize, out: usize, N: i32, C: i32, V: i32, tableType: i32): void {
  for (let n = 0; n < N; n++) rowInto(table, tableRow(index, n, V), C, tableType, out + <usize>n * <usize>C * 4);
}

/** dst[0..C) = row `row` of a [_, C] table of dtype code `dtype`, as f32. */
function rowInto(table: usize, row: usize, C: i32, dtype: i32, dst: usize): void {
  if (dtype == 0) memory.copy(dst, table + row * <usize>C * 4, <usize>C * 4);
  else decodeHalves(table + row * <usize>C * 2, dst, C, dtype);
}

/** dst[0..C) += row `row` of a [_, C] table of dtype code `dtype`. */
function addRow(table: usize, row: usize, C: i32, dtype: i32, dst: usize): void {
  const w: usize = dtype == 0 ? 4 : 2;
  const src = table + row * <usize>C * w;
  let i = 0;
  for (; i + 4 <= C; i += 4) {
    const d = dst + (<usize>i << 2);
    const v = dtype == 0 ? v128.load(src + (<usize>i << 2)) : loadHalf4(src + (<usize>i << 1), dtype);
    v128.store(d, f32x4.add(v128.load(d), v));
  }
  for (; i < C; i++) {
    const d = dst + (<usize>i << 2);
    store<f32>(d, load<f32>(d) + (dtype == 0 ? load<f32>(src + (<usize>i << 2)) : loadHalf(src + (<usize>i << 1), dtype)));
  }
}

/**
 * dst[targets[g]] += Σ src[order[i]] for i in [starts[g], starts[g+1]): each group's rows are
 * summed in `order` from 0, then the sum is added to dst, so the result is the same on every
 * backend. Columns go in blocks of 16 held in registers, so no scratch row is needed.
 */
export function scatter_add_rows(src: usize, order: usize, starts: usize, targets: usize, dst: usize, groups: i32, C: i32, R: i32, V: i32): void {
  const rowBytes = <usize>C * 4;
  for (let g = 0; g < groups; g++) {
    const s0 = max(0, <i32>load<f32>(starts + <usize>g * 4));
    const s1 = min(R, <i32>load<f32>(starts + <usize>(g + 1) * 4));
    if (s1 <= s0) continue;
    const d = dst + tableRow(targets, g, V) * rowBytes;
    let c: usize = 0;
    for (; c + 64 <= rowBytes; c += 64) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let i = s0; i < s1; i++) {
        const r = src + tableRow(order, i, R) * rowBytes + c;
        a0 = f32x4.add(a0, v128.load(r));
        a1 = f32x4.add(a1, v128.load(r + 16));
        a2 = f32x4.add(a2, v128.load(r + 32));
        a3 = f32x4.add(a3, v128.load(r + 48));
      }
      v128.store(d + c, f32x4.add(v128.load(d + c), a0));
      v128.store(d + c + 16, f32x4.add(v128.load(d + c + 16), a1));
      v128.store(d + c + 32, f32x4.add(v128.load(d + c + 32), a2));
      v128.store(d + c + 48, f32x4.add(v128.load(d + c + 48), a3));
    }
    for (; c + 16 <= rowBytes; c += 16) {
      let a0 = f32x4.splat(0);
      for (let i = s0; i < s1; i++) a0 = f32x4.add(a0, v128.load(src + tableRow(order, i, R) * rowBytes + c));
      v128.store(d + c, f32x4.add(v128.load(d + c), a0));
    }
    for (; c < rowBytes; c += 4) {
      let a: f32 = 0;
      for (let i = s0; i < s1; i++) a += load<f32>(src + tableRow(order, i, R) * rowBytes + c);
      store<f32>(d + c, load<f32>(d + c) + a);
    }
  }
}
