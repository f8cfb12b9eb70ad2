/**
 * The TF.js side of the training-step benchmark: {@link measureTfjsGPT2} over the standard
 * configurations on TF.js's webgpu backend (on a given Dawn `GPU`) and its wasm backend.
 * bench/train_step.ts runs {@link runTfjsTrainStep} over {@link TRAIN_STEP_CONFIGS} to put
 * webrlhf beside it.
 */
import { fixed } from '../harness/timing.js';
import { forEachOnFreshTfjs, measureTfjsGPT2, type GPT2Config, type MeasureOptions, type TfjsBackendName, type TfjsBackendOptions, type TfjsMeasurement } from './tfjs_gpt2.js';

/** The configurations the training-step benchmark runs, by name. */
export const TRAIN_STEP_CONFIGS: Record<string, GPT2Config> = {
  small: { C: 128, L: 4, H: 4, V: 128, B: 8, T: 128, seed: 1 },
  big: { C: 256, L: 6, H: 8, V: 256, B: 8, T: 256, seed: 1 },
};

export const configLabel = ({ C, L, H, V, B, T }: GPT2Config) => `C${C} L${L} H${H} V${V} B${B} T${T}`;

export type { TfjsBackendName };

export interface TfjsTrainStepRow {
  backend: TfjsBackendName;
  /** Backend details: the adapter for webgpu, SIMD/threads for wasm. */
  detail: string;
  configName: string;
  result?: TfjsMeasurement;
  /** Set when the backend or the run failed; `result` is then absent. */
  error?: string;
}

export interface RunTfjsTrainStepOptions extends TfjsBackendOptions {
  /** Backends in run order (default webgpu then wasm). */
  backends?: TfjsBackendName[];
  /** Names in {@link TRAIN_STEP_CONFIGS} (default all). */
  configs?: string[];
  measure?: MeasureOptions;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/**
 * Runs the TF.js GPT-2 step on each backend and configuration, each configuration on a freshly
 * started backend ({@link forEachOnFreshTfjs}: not interleaved with other TF.js work). In Node,
 * keep an interval alive while this runs (Dawn's promises do not hold the event loop open).
 */
export async function runTfjsTrainStep(options: RunTfjsTrainStepOptions = {}): Promise<TfjsTrainStepRow[]> {
  const { backends = ['webgpu', 'wasm'], configs = Object.keys(TRAIN_STEP_CONFIGS), log = () => {} } = options;
  for (const name of configs) if (!TRAIN_STEP_CONFIGS[name]) throw new Error(`unknown config ${name}; known: ${Object.keys(TRAIN_STEP_CONFIGS).join(', ')}`);
  const rows: TfjsTrainStepRow[] = [];
  for (const backend of backends) {
    rows.push(
      ...(await forEachOnFreshTfjs<string, TfjsTrainStepRow>(
        backend,
        configs,
        options,
        async (tf, configName, detail) => {
          const config = TRAIN_STEP_CONFIGS[configName]!;
          log(`tfjs-${backend} ${configName} (${configLabel(config)})`);
          const result = await measureTfjsGPT2(tf, config, {
            ...options.measure,
            onStep: (s) => {
              log(`  ${s.phase} ${s.index}: ${fixed(s.ms, 0)} ms, loss ${s.loss.toFixed(4)}`);
              options.measure?.onStep?.(s);
            },
          });
          return { backend, detail, configName, result };
        },
        (configName, detail, error) => ({ backend, detail, configName, error }),
      )),
    );
  }
  return rows;
}

export const mib = (bytes: number | undefined) => (bytes === undefined ? '—' : (bytes / 2 ** 20).toFixed(1));

/** Table rows: backend, config, steps, ms/step, tokens/s, first loss, peak/steady tensor MiB, backend memory. */
export const TFJS_TABLE_HEADERS = ['backend', 'config', 'timed steps', 'ms/step', 'tokens/s', 'loss₀', 'peak tensors MiB', 'steady MiB', 'backend MiB'];

export function tfjsTableRows(rows: TfjsTrainStepRow[]): string[][] {
  return rows.map(({ backend, configName, result: r, error }) => {
    if (!r) return [`tfjs ${backend}`, configName, '—', '—', '—', '—', '—', '—', `failed: ${error}`];
    const m = r.memory;
    const backendMem = m.gpuBytesAllocated !== undefined ? `${mib(m.gpuBytesAllocated)} GPU pool` : m.wasmHeapBytes !== undefined ? `${mib(m.wasmHeapBytes)} heap` : '—';
    return [
      `tfjs ${backend}`, configName, String(r.stepMs.length), fixed(r.msPerStep, 0), fixed(r.tokensPerSecond, 0), r.losses[0]!.toFixed(3),
      mib(m.peakTensorBytes), mib(m.steadyTensorBytes), backendMem,
    ];
  });
}
