// The training side of the page: a module Web Worker, so the page stays responsive while the
// pipeline runs. It runs RLMEC (SFT → GRM → RLMEC, docs/RLMEC.md) through the library, into a
// run folder held in memory, and posts every step's metrics, the log lines and, at the end,
// the run's files (models, metrics, samples, token rewards, report.html) back to the page.
//
// Messages in:  { type: 'start', backend: 'auto'|'webgpu'|'wasm', config: {...rlmec keys} }
//                 (config.use_peft: LoRA adapters on the frozen SFT policy, with the demo's LoRA keys)
//               { type: 'stop' }
// Messages out: { type: 'runtime', runtime, backend, reason }   once the device is ready
//               { type: 'log', line }                           one per stage and result
//               { type: 'step', seed, stage, step, totalSteps, metrics }
//               { type: 'done', result, files, seconds }        files: { path: Uint8Array }
//               { type: 'stopped', files }                      after Stop: what finished stays
//               { type: 'error', name, message }
import {
  DEMO_PEFT, builtinArithmeticSource, createRuntime, demoReport, formatDuration, memoryRunStorage, rlmecRunConfig, runRLMECExperiment, trainingNote,
} from '../../dist/web/index.js';

let controller;

self.onmessage = async ({ data }) => {
  if (data.type === 'stop') controller?.abort();
  if (data.type === 'start' && !controller) {
    controller = new AbortController();
    try {
      await run(data, controller.signal);
    } finally {
      controller = undefined;
    }
  }
};

async function run({ backend, config }, signal) {
  const storage = memoryRunStorage();
  let rt;
  try {
    rt = await createRuntime({ backend });
    self.postMessage({ type: 'runtime', runtime: rt.runtime, backend: rt.choice.chosen, reason: rt.choice.reason });
    // A ConfigError here names the bad key and the fix; the page shows it as it is.
    const c = rlmecRunConfig({ baselines: false, seeds: 1, ...(config.use_peft ? DEMO_PEFT : {}), ...config });
    const result = await runRLMECExperiment(rt.backend, c, builtinArithmeticSource(rt.backend, c), {
      output: storage,
      signal,
      log: (line) => self.postMessage({ type: 'log', line }),
      onStep: ({ seed, stage, step, totalSteps, metrics }) => self.postMessage({ type: 'step', seed, stage, step, totalSteps, metrics }),
    });
    const html = await demoReport({
      title: 'webrlhf in the browser: RLMEC',
      notes: [`RLMEC on ${result.data}, ${rt.runtime}, ${result.backend} backend, ${formatDuration(result.seconds, 'minutes')}.`],
      seed: c.seed,
      rlmec: { result, storage, training: trainingNote(c) },
    });
    await storage.write('report.html', new TextEncoder().encode(html));
    post({ type: 'done', result, files: storage.files, seconds: result.seconds });
  } catch (e) {
    if (signal.aborted) post({ type: 'stopped', files: storage.files });
    else self.postMessage({ type: 'error', name: e?.name ?? 'Error', message: e?.message ?? String(e) });
  } finally {
    rt?.dispose();
  }
}

/** Posts a message with the run folder's files, moving (not copying) their bytes. */
function post(message) {
  const files = Object.fromEntries(message.files);
  self.postMessage({ ...message, files }, Object.values(files).map((bytes) => bytes.buffer));
}
