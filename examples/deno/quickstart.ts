// deno run -A examples/deno/quickstart.ts [auto|webgpu|wasm]
// Deno resolves 'webrlhf' through package.json's "deno" export (dist/web, navigator.gpu).
import { createRuntime, matmul, type BackendChoice } from 'webrlhf';

const rt = await createRuntime({ backend: (Deno.args[0] ?? 'auto') as BackendChoice });
const be = rt.backend;
const a = be.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
const b = be.tensor([1, 0, 0, 1, 1, 1], [3, 2]);
const c = matmul(a, b, { bias: be.tensor([10, 20]) });
console.log(`${rt.runtime} · ${rt.choice.chosen} (${rt.choice.reason})`);
console.log('a·b + bias =', Array.from(await be.read(c)));
rt.dispose();
