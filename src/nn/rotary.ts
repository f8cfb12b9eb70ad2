// Rotary position embedding's host side: the inverse frequencies of a Llama-family config
// (Hugging Face's rope_theta and rope_scaling / rope_parameters keys) and the cos/sin tables
// the rotaryEmbedding op reads. transformers computes these in float32; here they are float64,
// rounded to f32 once at the end, so they agree with it to f32 rounding.
import { ConfigError, ShapeError } from '../errors.js';

/**
 * A config's rope_scaling (or transformers 5's rope_parameters), under Hugging Face's keys.
 * The type is `rope_type`, or `type` in older configs; absent means "default".
 */
export interface RopeScaling {
  rope_type?: string;
  type?: string;
  factor?: number;
  low_freq_factor?: number;
  high_freq_factor?: number;
  original_max_position_embeddings?: number;
  [key: string]: unknown;
}

/** The rope_scaling types rotaryFrequencies computes. */
export const ROPE_TYPES = ['default', 'llama3'] as const;

/** Cosines and sines of position × frequency, row-major [P, D/2] (rotaryEmbedding's cos and sin). */
export interface RotaryTables {
  cos: Float32Array;
  sin: Float32Array;
}

/**
 * inv_freq[i] = 1/θ^(2i/D) for i < D/2, as transformers computes it, then rescaled by the
 * config's rope_scaling: null, absent or type "default" leave it; "llama3" (Llama 3.1's long
 * context) divides the low frequencies by `factor` and blends across the band between, as
 * transformers' `_compute_llama3_parameters` does. Any other type is a ConfigError. The
 * attention scaling transformers returns beside inv_freq is 1 for both types.
 */
export function rotaryFrequencies(headDim: number, ropeTheta: number, ropeScaling?: RopeScaling | null): Float64Array {
  const op = 'rotaryFrequencies';
  if (!Number.isSafeInteger(headDim) || headDim < 2 || headDim % 2 !== 0) throw new ConfigError(`${op}: head_dim must be a positive even integer, got ${headDim}`);
  if (!(ropeTheta > 0) || !Number.isFinite(ropeTheta)) throw new ConfigError(`${op}: rope_theta must be a positive number, got ${ropeTheta}`);
  const invFreq = Float64Array.from({ length: headDim / 2 }, (_, i) => 1 / ropeTheta ** ((2 * i) / headDim));
  const type = ropeScaling ? (ropeScaling.rope_type ?? ropeScaling.type ?? 'default') : 'default';
  if (type === 'default') return invFreq;
  if (type === 'llama3') return llama3Frequencies(invFreq, ropeScaling!);
  throw new ConfigError(`${op}: rope_scaling type ${JSON.stringify(type)} is not supported; supported: ${ROPE_TYPES.join(', ')} (or rope_scaling null)`);
}

/**
 * Llama 3.1's rescaling of the default frequencies: a wavelength 2π/f shorter than
 * original_max_position_embeddings / high_freq_factor keeps f; one longer than
 * original_max_position_embeddings / low_freq_factor gets f / factor; between, a blend of the
 * two, linear in original_max_position_embeddings / wavelength.
 */
function llama3Frequencies(invFreq: Float64Array, s: RopeScaling): Float64Array {
  const need = (key: 'factor' | 'low_freq_factor' | 'high_freq_factor' | 'original_max_position_embeddings'): number => {
    const v = s[key];
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
      throw new ConfigError(`rotaryFrequencies: llama3 rope_scaling needs ${key}, a positive number; got ${JSON.stringify(v)}` +
        (key === 'original_max_position_embeddings' ? ' (transformers fills a missing one from max_position_embeddings)' : ''));
    }
    return v;
  };
  const factor = need('factor');
  const low = need('low_freq_factor');
  const high = need('high_freq_factor');
  const oldContext = need('original_max_position_embeddings');
  if (!(high > low)) throw new ConfigError(`rotaryFrequencies: llama3 rope_scaling needs high_freq_factor > low_freq_factor, got ${high} and ${low}`);
  const lowFreqWavelen = oldContext / low;
  const highFreqWavelen = oldContext / high;
  return invFreq.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highFreqWavelen) return f;
    if (wavelen > lowFreqWavelen) return f / factor;
    const smooth = (oldContext / wavelen - low) / (high - low);
    return ((1 - smooth) * f) / factor + smooth * f;
  });
}

/**
 * cos and sin of p · invFreq[i] for the positions p = 0 .. positions − 1, [positions, D/2]
 * row-major: the tables of rotaryEmbedding, which reads row positions[n] for token n.
 */
export function rotaryTables(invFreq: ArrayLike<number>, positions: number): RotaryTables {
  if (!Number.isSafeInteger(positions) || positions < 1) throw new ConfigError(`rotaryTables: positions must be a positive integer (the rows of the tables), got ${positions}`);
  const half = invFreq.length;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * invFreq[i]!;
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Fails unless every position is an integer in [0, P), P the rows of the rotary tables: the
 * host-side check of the positions rotaryEmbedding reads (on the device its kernels can only
 * clamp a bad one into the table).
 */
export function checkRotaryPositions(positions: ArrayLike<number>, P: number): void {
  for (let n = 0; n < positions.length; n++) {
    const p = positions[n]!;
    if (!Number.isInteger(p) || p < 0 || p >= P) {
      throw new ShapeError(`rotary positions: position ${p} at index ${n} is not an integer in [0, ${P}); the cos/sin tables have ${P} rows (make them with rotaryTables(invFreq, P) for a larger P)`);
    }
  }
}
