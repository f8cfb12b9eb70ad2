import { parseArgs } from 'node:util';
import { chooseAuto } from '../runtime/auto_choice.js';
import { createRuntime, type BackendChoice } from '../runtime/create_runtime.js';
import { adapterName } from '../runtime/gpu_acquire.js';

const HELP = `Usage: webrlhf info [--backend auto|webgpu|wasm] [--json]

Prints the JavaScript runtime, the WebGPU adapter found (with its limits and features),
every GPU acquisition attempt, and the backend that 'auto' picks.
  --backend  also create this backend and print its description (default: auto)
  --json     machine-readable output`;

export async function infoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { backend: { type: 'string', default: 'auto' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  // Probe the GPU with 'auto' so the adapter is reported even when WASM is chosen.
  const rt = await createRuntime({ backend: values.backend as BackendChoice });
  try {
    const auto = chooseAuto(rt.adapter);
    const report = {
      runtime: `${rt.runtime} ${rt.runtimeVersion}`,
      backends: { wasm: 'available', webgpu: rt.adapter ? 'available' : 'unavailable' },
      adapter: rt.adapter ?? null,
      gpuAttempts: rt.gpuAttempts,
      auto,
      backend: rt.backend.info(),
    };
    if (values.json) {
      console.log(JSON.stringify(report, null, 2));
      return 0;
    }
    const a = rt.adapter;
    console.log(`runtime        ${report.runtime}`);
    console.log(`backends       wasm: available; webgpu: ${report.backends.webgpu}`);
    if (a) {
      console.log(`adapter        ${adapterName(a)}${a.software ? ' (software)' : ''}`);
      console.log(`  from         ${a.source}, ${a.featureLevel} feature level`);
      console.log(`  features     ${a.features.join(', ') || 'none'}`);
      for (const [k, v] of Object.entries(a.limits)) console.log(`  ${k.padEnd(36)} ${v}`);
    }
    if (rt.gpuAttempts.length) {
      console.log('gpu attempts');
      for (const line of rt.gpuAttempts) console.log(`  - ${line}`);
    }
    console.log(`auto picks     ${auto.backend} (${auto.reason})`);
    console.log(`backend        ${rt.choice.chosen}: ${rt.backend.info().device}`);
    return 0;
  } finally {
    rt.dispose();
  }
}
