import { philoxUniforms, type RandomOptions } from './philox.js';

/**
 * n standard normals from Philox uniforms (counter elements stream.., see philoxUniforms),
 * by Box–Muller on consecutive pairs: normals 2j and 2j + 1 come from uniforms 2j and 2j + 1
 * (n rounded up to even draws, the last one unused for odd n). Reproducible from
 * (seed, stream, offset): V8 (Node, Deno, Chromium) computes log, sin and cos with fdlibm.
 */
export function philoxNormals(n: number, o: RandomOptions): Float32Array {
  const u = philoxUniforms(n + (n % 2), o);
  const out = new Float32Array(n);
  for (let j = 0; 2 * j < n; j++) {
    // 1 − u lies in (0, 1]: the logarithm never sees 0.
    const r = Math.sqrt(-2 * Math.log(1 - u[2 * j]!));
    const a = 2 * Math.PI * u[2 * j + 1]!;
    out[2 * j] = r * Math.cos(a);
    if (2 * j + 1 < n) out[2 * j + 1] = r * Math.sin(a);
  }
  return out;
}
