/**
 * The TF.js side of the training-step benchmark: {@link measureTfjsGPT2} over the standard
 * configurations on TF.js's webgpu backend (on a given Dawn `GPU`) and its wasm backend.
 * Used by bench/train_step_peer.ts (`npm run bench -- train-step-tfjs`); bench/train_step.ts can
 * import {@link runTfjsTrainStep} and {@link TRAIN_STEP_CONFIGS} to put webrlhf beside it.
 */
import { fixed } from '../harness/timing.js';
import { loadTfjsWasm, loadTfjsWebGPU, measureTfjsGPT2, type GPT2Config, type MeasureOptions, type TF, type TfjsMeasurement } from './tfjs_gpt2.js';

/** The configurations the training-step benchmark runs, by name. */
export const TRAIN_STEP_CONFIGS: Record<string, GPT2Config> = {
  small: { C: 128, L: 4, H: 4, V: 128, B: 8, T: 128, seed: 1 },
  big: { C: 256, L: 6, H: 8, V: 256, B: 8, T: 256, seed: 1 },
};

export const configLabel = ({ C, L, H, V, B, T }: GPT2Config) => `C${C} L${L} H${H} V${V} B${B} T${T}`;

export type TfjsBackendName = 'webgpu' | 'wasm';

export interface TfjsTrainStepRow {
  backend: TfjsBackendName;
  /** Backend details: the adapter for webgpu, SIMD/threads for wasm. */
  detail: string;
  configName: string;
  result?: TfjsMeasurement;
  /** Set when the backend or the run failed; `result` is then absent. */
  error?: string;
}

export interface RunTfjsTrainStepOptions {
  /** Backends in run order (default webgpu then wasm). */
  backends?: TfjsBackendName[];
  /** Names in {@link TRAIN_STEP_CONFIGS} (default all). */
  configs?: string[];
  /** For webgpu: the `GPU` object (Dawn's in Node) and the feature level its adapter needs. */
  gpu?: GPU;
  featureLevel?: string;
  /** Shown in the webgpu row's detail. */
  adapterName?: string;
  measure?: MeasureOptions;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/**
 * Runs the TF.js GPT-2 step on each backend and configuration. TF.js is one engine per process:
 * it is reset (all its backends and tensors dropped) between configurations and at the end, so
 * run this before or after other TF.js work, not interleaved. In Node, keep an interval alive
 * while this runs (Dawn's promises do not hold the event loop open).
 */
export async function runTfjsTrainStep(options: RunTfjsTrainStepOptions = {}): Promise<TfjsTrainStepRow[]> {
  const { backends = ['webgpu', 'wasm'], configs = Object.keys(TRAIN_STEP_CONFIGS), log = () => {} } = options;
  const rows: TfjsTrainStepRow[] = [];
  for (const backend of backends) {
    let detail = '';
    // (Re)starts the backend. TF.js's engine is reset between configurations so that each row's
    // backend memory (webgpu buffer pool, wasm heap; neither shrinks) is its own.
    const start = async (): Promise<TF> => {
      if (backend === 'webgpu') {
        if (!options.gpu) throw new Error('no GPU object given');
        detail = options.adapterName ?? 'webgpu';
        return loadTfjsWebGPU(options.gpu, options.featureLevel ?? 'core');
      }
      const loaded = await loadTfjsWasm();
      detail = loaded.info.description;
      return loaded.tf;
    };
    for (const [i, configName] of configs.entries()) {
      const config = TRAIN_STEP_CONFIGS[configName];
      if (!config) throw new Error(`unknown config ${configName}; known: ${Object.keys(TRAIN_STEP_CONFIGS).join(', ')}`);
      let tf: TF;
      try {
        if (i > 0) (await import('@tensorflow/tfjs-core')).engine().reset();
        tf = await start();
      } catch (e) {
        rows.push({ backend, detail, configName, error: errorLine(e) });
        continue;
      }
      log(`tfjs-${backend} ${configName} (${configLabel(config)})`);
      try {
        const result = await measureTfjsGPT2(tf, config, {
          ...options.measure,
          onStep: (s) => {
            log(`  ${s.phase} ${s.index}: ${fixed(s.ms, 0)} ms, loss ${s.loss.toFixed(4)}`);
            options.measure?.onStep?.(s);
          },
        });
        rows.push({ backend, detail, configName, result });
      } catch (e) {
        rows.push({ backend, detail, configName, error: errorLine(e) });
      }
    }
    // Leave TF.js clean for whatever runs next in the process.
    (await import('@tensorflow/tfjs-core')).engine().reset();
  }
  return rows;
}

const errorLine = (e: unknown) => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

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
