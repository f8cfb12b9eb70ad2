// `npm run bench -- gpt2-small`: does GPT-2 small (124M: C=768, L=12, H=12, V=50257) fit and
// train on this machine? Runs training steps (forward, loss, backward, clip, AdamW) from a
// random init and prints the step time and the tensor memory it held.
//
// WEBRLHF_BENCH_BACKENDS=webgpu,wasm (default both), WEBRLHF_BENCH_B=4, WEBRLHF_BENCH_T=128,
// WEBRLHF_BENCH_STEPS=2. On WebGPU the 154 MB token embedding and the 0.5 GB parameter,
// gradient and moment buffers exceed one binding on llvmpipe and lavapipe (128 MiB), so the
// ops take them in several; Dawn's Vulkan on SwiftShader binds 1 GiB (WEBRLHF_DAWN=backend=vulkan
// VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json).
import { AdamW, CausalLM, GPT2_SMALL, createRuntime, lmTrainStep, parameterCount, type Runtime } from 'webrlhf';

const env = process.env;
const BACKENDS = (env.WEBRLHF_BENCH_BACKENDS ?? 'webgpu,wasm').split(',') as ('webgpu' | 'wasm')[];
const B = Number(env.WEBRLHF_BENCH_B ?? 4);
const T = Number(env.WEBRLHF_BENCH_T ?? 128);
const STEPS = Number(env.WEBRLHF_BENCH_STEPS ?? 2);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

async function run(kind: 'webgpu' | 'wasm'): Promise<void> {
  let rt: Runtime | undefined;
  try {
    rt = await createRuntime({ backend: kind });
    const be = rt.backend;
    console.log(`\n${kind}: ${be.info().device}`);
    const t0 = performance.now();
    const model = CausalLM.create(be, GPT2_SMALL, { seed: 1 });
    const opt = new AdamW(model, { lr: 1e-4 });
    console.log(`  ${(parameterCount(model.layout) / 1e6).toFixed(1)}M parameters, created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    let state = 12345;
    const token = () => (state = (state * 1103515245 + 12345) % 2 ** 31) % GPT2_SMALL.vocab_size;
    const batch = { inputIds: Array.from({ length: B }, () => Array.from({ length: T }, token)) };
    for (let s = 1; s <= STEPS; s++) {
      const t = performance.now();
      const { loss, gradNorm } = await lmTrainStep(model, opt, batch);
      const seconds = (performance.now() - t) / 1000;
      console.log(`  step ${s}: loss ${loss.toFixed(4)}, grad norm ${gradNorm.toFixed(3)}, ${seconds.toFixed(2)} s (${((B * T) / seconds).toFixed(0)} tokens/s, B=${B} T=${T})`);
    }
    const m = be.memory();
    console.log(`  tensor memory: ${mib(m.bytes)} held, ${mib(m.peakBytes)} at peak`);
    model.dispose();
    opt.dispose();
  } catch (e) {
    console.log(`  ${kind}: did not run: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  } finally {
    rt?.dispose();
  }
}

const keepAlive = setInterval(() => {}, 1 << 30);
console.log(`GPT-2 small (124M) training step, Node ${process.versions.node}`);
for (const kind of BACKENDS) await run(kind);
clearInterval(keepAlive);
