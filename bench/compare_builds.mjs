// Two builds of webrlhf side by side in ONE process — before and after a change — run in
// alternation on the same workloads, so the machine's drift (large on shared 2-core machines:
// ±15% between minutes) hits both alike. Prints each workload's median over ROUNDS runs and
// the after/before ratio.
//
//   git worktree add ../before <rev> && (cd ../before && npm ci)
//   node bench/compare_builds.mjs ../before/dist/node/index.js dist/node/index.js [ops,matmul,train,generate]
//
// ROUNDS=11 (default 7) runs per build; BACKENDS=wasm,webgpu; BIG_GPU=1 adds the big training
// step on WebGPU (seconds per step on a software adapter). Builds from before op families
// (ops as Backend methods) are called through their methods.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [baseEntry, newEntry, only] = process.argv.slice(2);
if (!baseEntry || !newEntry) {
  console.error('Usage: node bench/compare_builds.mjs <before>/dist/node/index.js <after>/dist/node/index.js [ops,matmul,train,generate]');
  process.exit(2);
}
// Paths are the caller's (relative to the working directory), not this file's.
const load = (path) => import(pathToFileURL(resolve(path)).href);
const libs = { base: await load(baseEntry), new: await load(newEntry) };
const want = (w) => !only || only.split(',').includes(w);
const ROUNDS = Number(process.env.ROUNDS ?? 7);

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const now = () => performance.now();
const rows = [];

function ops(lib) {
  return {
    matmul: lib.matmul ?? ((a, b, o) => a.backend.matmul(a, b, o)),
    add: lib.add ?? ((a, b, out) => a.backend.add(a, b, out)),
  };
}

/** Runs `make(version)` once per version to set up, then `time(state)` alternately, ROUNDS times each. */
async function ab(name, unit, make, time, better = 'lower') {
  const states = {};
  for (const v of ['base', 'new']) states[v] = await make(v);
  const samples = { base: [], new: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? ['new', 'base'] : ['base', 'new'];
    for (const v of order) samples[v].push(await time(states[v]));
  }
  for (const v of ['base', 'new']) await states[v].dispose?.();
  const [b, n] = [median(samples.base), median(samples.new)];
  rows.push([name, `${b.toFixed(unit === 'µs' ? 2 : 1)} ${unit}`, `${n.toFixed(unit === 'µs' ? 2 : 1)} ${unit}`, `${(n / b).toFixed(3)}`, better]);
  console.error(`${name}: base ${b.toFixed(2)} new ${n.toFixed(2)} ${unit}`);
}

const runtimes = {};
async function runtime(v, backend) {
  const key = `${v}:${backend}`;
  runtimes[key] ??= await libs[v].createRuntime({ backend });
  return runtimes[key].backend;
}

for (const backend of (process.env.BACKENDS ?? 'wasm,webgpu').split(',')) {
  if (want('ops')) {
    const n = 1024, reps = backend === 'wasm' ? 20000 : 300;
    await ab(`${backend}: add, 1024 values (per op)`, 'µs', async (v) => {
      const be = await runtime(v, backend);
      return { be, add: ops(libs[v]).add, x: be.tensor(new Float32Array(n).fill(1)), y: be.zeros([n]) };
    }, async (s) => {
      await s.be.flush();
      const t0 = now();
      for (let i = 0; i < reps; i++) s.add(s.x, s.y, s.y);
      await s.be.read(s.y);
      return ((now() - t0) * 1000) / reps;
    });
  }
  if (want('matmul')) {
    for (const n of [256, 1024]) {
      const reps = backend === 'wasm' ? (n === 256 ? 20 : 3) : (n === 256 ? 5 : 2);
      await ab(`${backend}: matmul ${n}³ (GFLOP/s)`, 'GF/s', async (v) => {
        const be = await runtime(v, backend);
        const data = Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
        const s = { be, mm: ops(libs[v]).matmul, a: be.tensor(data, [n, n]), b: be.tensor(data, [n, n]), out: be.zeros([n, n]) };
        s.mm(s.a, s.b, { out: s.out }); await be.flush();
        return s;
      }, async (s) => {
        const t0 = now();
        for (let i = 0; i < reps; i++) s.mm(s.a, s.b, { out: s.out });
        await s.be.flush();
        return (2 * n ** 3 * reps) / ((now() - t0) / 1000) / 1e9;
      }, 'higher');
    }
  }
  if (want('train')) {
    const configs = { small: { V: 128, T: 128, C: 128, L: 4, H: 4, B: 8 }, big: { V: 256, T: 256, C: 256, L: 6, H: 8, B: 8 } };
    for (const [name, c] of Object.entries(configs)) {
      if (backend === 'webgpu' && name === 'big' && process.env.BIG_GPU !== '1') continue;
      await ab(`${backend}: train step ${name} (ms/step)`, 'ms', async (v) => {
        const L = libs[v];
        const be = await runtime(v, backend);
        const model = L.CausalLM.create(be, L.gptConfig({ vocab_size: c.V, n_positions: c.T, n_embd: c.C, n_layer: c.L, n_head: c.H }), { seed: 1 });
        const opt = new L.AdamW(model, { lr: 1e-3, weight_decay: 0.01, max_grad_norm: 1 });
        const batch = { inputIds: Array.from({ length: c.B }, (_, b) => Array.from({ length: c.T }, (_, t) => (b * 131 + t * 17) % c.V)) };
        await L.lmTrainStep(model, opt, batch);
        return { L, model, opt, batch, dispose: () => model.dispose() };
      }, async (s) => {
        const t0 = now();
        await s.L.lmTrainStep(s.model, s.opt, s.batch);
        return now() - t0;
      });
    }
  }
  if (want('generate')) {
    for (const [B, len] of [[1, 64], [8, 256]]) {
      await ab(`${backend}: generate B${B}, ${len} tokens (ms/token)`, 'ms', async (v) => {
        const L = libs[v];
        const be = await runtime(v, backend);
        const model = L.CausalLM.create(be, L.gptConfig({ vocab_size: 512, n_positions: 512, n_embd: 256, n_layer: 4, n_head: 4 }), { seed: 2 });
        const prompts = Array.from({ length: B }, (_, i) => Array.from({ length: 12 }, (_, t) => (i * 31 + t * 7) % 512));
        return { L, model, prompts, dispose: () => model.dispose() };
      }, async (s) => {
        const t0 = now();
        const out = await s.L.generate(s.model, s.prompts, { max_new_tokens: len - 12, do_sample: false, eos_token_id: null });
        const tokens = out.reduce((n, o) => n + o.ids.length, 0) / B;
        return (now() - t0) / tokens;
      });
    }
  }
}
for (const rt of Object.values(runtimes)) rt.dispose();
console.log(`\nbase = d8af9d6 (before), new = this tree (after); medians of ${ROUNDS} alternating runs in one process\n`);
const head = ['workload', 'before', 'after', 'after / before', 'better'];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
for (const r of [head, head.map((_, i) => '-'.repeat(w[i])), ...rows]) console.log(r.map((c, i) => String(c).padEnd(w[i])).join('  '));
process.exit(0);
