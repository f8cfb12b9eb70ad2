import type { Init } from './layout.js';

/** Seeded uniforms in [0, 1) (mulberry32): integer math, the same in every JavaScript engine. */
export function uniformSampler(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Seeded standard normals: uniformSampler through Box–Muller (fdlibm math, so every engine
 * draws the same weights for the same seed).
 */
export function normalSampler(seed: number): () => number {
  const uniform = uniformSampler(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    const u = 1 - uniform(); // (0, 1]: log never sees 0
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * uniform();
    spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
}

/** Fills `out` as `init` says, drawing normals from `normal`. */
export function initialise(out: Float32Array, init: Init, normal: () => number): void {
  if (init.kind === 'ones') out.fill(1);
  else if (init.kind === 'zeros') out.fill(0);
  else for (let i = 0; i < out.length; i++) out[i] = normal() * init.std;
}
