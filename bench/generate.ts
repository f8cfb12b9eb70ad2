// `npm run bench -- generate`: new tokens per second of batched generation at batch 1, 8
// and 32 and total lengths 64, 256 and 512, with the KV cache and without it (the whole
// sequence through the model for every token), on both backends, beside TensorFlow.js doing
// the same job its usual way (full forward per token; bench/peers/tfjs_generate.ts) on the
// same adapter, measured in the same run.
//
// A token's cost is measured at a length: the time of k decode steps that end at that length,
// between two host checks, so the prompt's own forward pass is left out.
//
// WEBRLHF_BENCH_BACKENDS=webgpu,wasm  WEBRLHF_BENCH_BATCHES=1,8,32  WEBRLHF_BENCH_LENGTHS=64,256,512
// WEBRLHF_BENCH_MODEL=C,L,H,V (default 256,4,4,512)  WEBRLHF_BENCH_MODES=cache,no-cache
// WEBRLHF_BENCH_PEER=0 skips TF.js.
import { createRuntime, generate, gptConfig, CausalLM, type Backend, type Runtime } from 'webrlhf';
import { fixed, printTable } from './harness/timing.js';
import { runTfjsGenerate, type TfjsGenerateRow } from './peers/tfjs_generate.js';

const env = process.env;
const list = (v: string | undefined, d: string) => (v ?? d).split(',').map((s) => s.trim()).filter(Boolean);
const BACKENDS = list(env.WEBRLHF_BENCH_BACKENDS, 'webgpu,wasm') as ('webgpu' | 'wasm')[];
const BATCHES = list(env.WEBRLHF_BENCH_BATCHES, '1,8,32').map(Number);
const LENGTHS = list(env.WEBRLHF_BENCH_LENGTHS, '64,256,512').map(Number);
const [C, L, H, V] = list(env.WEBRLHF_BENCH_MODEL, '256,4,4,512').map(Number) as [number, number, number, number];
const P = Math.max(...LENGTHS);
const PEER = env.WEBRLHF_BENCH_PEER !== '0';
const MODES = list(env.WEBRLHF_BENCH_MODES, 'cache,no-cache').map((m) => m === 'cache');
/** Decode steps timed per case: with the cache, and without (each of those is a whole forward pass). */
const CACHED_TOKENS = 8;
const UNCACHED_TOKENS = 2;

interface Row {
  backend: string;
  B: number;
  length: number;
  cached: boolean;
  msPerToken?: number;
  error?: string;
}

function prompts(B: number, n: number): number[][] {
  // Any fixed ids do: the cost does not depend on them.
  return Array.from({ length: B }, (_, b) => Array.from({ length: n }, (_, t) => (b * 31 + t * 7) % V));
}

/**
 * ms per decode step at `length`: generate 2k tokens after a prompt of length − 2k with a
 * host check every k steps, and time the k steps between the two checks (so the prompt's
 * forward pass and start-up stay out). The fastest of `runs` (the least disturbed).
 */
async function msPerStep(model: CausalLM, B: number, length: number, k: number, cached: boolean, runs: number): Promise<number> {
  const ids = prompts(B, length - 2 * k);
  const best: number[] = [];
  for (let i = 0; i < runs; i++) {
    const at = new Map<number, number>();
    await generate(model, ids, {
      do_sample: false, max_new_tokens: 2 * k, eos_token_id: null, use_cache: cached, sync_every: k,
      onProgress: ({ step }) => at.set(step, performance.now()),
    });
    best.push((at.get(2 * k)! - at.get(k)!) / k);
  }
  return Math.min(...best);
}

async function benchCase(be: Backend, model: CausalLM, B: number, length: number, cached: boolean): Promise<Row> {
  const row: Row = { backend: `webrlhf ${be.kind}`, B, length, cached };
  try {
    // A step without the cache is a whole forward pass: fewer of them.
    const k = cached ? CACHED_TOKENS : UNCACHED_TOKENS;
    await generate(model, prompts(B, length - 2 * k), { do_sample: false, max_new_tokens: 2, eos_token_id: null, use_cache: cached }); // warm-up
    row.msPerToken = await msPerStep(model, B, length, k, cached, cached ? 3 : 1);
  } catch (e) {
    row.error = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
  }
  return row;
}

async function main(): Promise<void> {
  const config = gptConfig({ vocab_size: V, n_positions: P, n_embd: C, n_layer: L, n_head: H });
  const rows: Row[] = [];
  const details: string[] = [];
  let gpuRt: Runtime | undefined;
  for (const kind of BACKENDS) {
    const rt = await createRuntime({ backend: kind });
    details.push(`webrlhf ${kind}: ${rt.backend.info().device}`);
    const model = CausalLM.create(rt.backend, config, { seed: 1 });
    for (const cached of MODES) {
      for (const B of BATCHES) {
        for (const length of LENGTHS) {
          console.error(`webrlhf ${kind} ${cached ? 'cache' : 'no cache'} B=${B} length ${length}`);
          rows.push(await benchCase(rt.backend, model, B, length, cached));
        }
      }
    }
    model.dispose();
    if (kind === 'webgpu') gpuRt = rt;
    else rt.dispose();
  }
  let peers: TfjsGenerateRow[] = [];
  if (PEER) {
    const gpu = gpuRt ? (gpuRt.backend as unknown as { gpu: GPU }).gpu : undefined;
    peers = await runTfjsGenerate({
      maxSecondsPerCase: 30,
      model: { C, L, H, V, P }, cases: BATCHES.flatMap((B) => LENGTHS.map((length) => ({ B, length }))), backends: BACKENDS, newTokens: 3,
      ...(gpu ? { gpu } : {}), featureLevel: gpuRt?.adapter?.featureLevel ?? 'core', adapterName: gpuRt?.adapter?.description ?? 'webgpu',
      log: (line) => console.error(line),
    });
    for (const p of peers) if (p.detail) details.push(`tfjs ${p.backend}: ${p.detail}`);
  }
  gpuRt?.dispose();

  console.log(`\nBatched generation, new tokens/s (greedy), f32 — Node ${process.versions.node}`);
  for (const d of [...new Set(details)]) console.log(`  ${d}`);
  console.log(`  model C${C} L${L} H${H} V${V}; a token's cost is measured at the given total length (prompt + response), prompt excluded`);
  console.log('  growth: ms/token at this length ÷ ms/token at the shortest length (linear in length: the length ratio; quadratic: its square)\n');
  const table: string[][] = [];
  const shortest = Math.min(...LENGTHS);
  const ms = (backend: string, B: number, length: number, cached: boolean) =>
    rows.find((r) => r.backend === backend && r.B === B && r.length === length && r.cached === cached)?.msPerToken;
  for (const kind of BACKENDS) {
    for (const B of BATCHES) {
      for (const length of LENGTHS) {
        const backend = `webrlhf ${kind}`;
        const withCache = ms(backend, B, length, true);
        const without = ms(backend, B, length, false);
        const peer = peers.find((p) => p.backend === kind && p.B === B && p.length === length);
        const tps = (m: number | undefined) => (m ? fixed((B * 1000) / m, 0) : '—');
        const ratio = (theirs: number | undefined, ours: number | undefined) => (theirs && ours ? `${fixed(theirs / ours, 1)}×` : '—');
        const growth = (m: number | undefined, base: number | undefined) => (m && base ? `${fixed(m / base, 1)}×` : '—');
        table.push([
          `${kind} B=${B}`, String(length),
          tps(withCache), fixed(withCache, 2), growth(withCache, ms(backend, B, shortest, true)),
          tps(without), fixed(without, 1), growth(without, ms(backend, B, shortest, false)),
          tps(peer?.msPerToken), ratio(peer?.msPerToken, without), ratio(peer?.msPerToken, withCache),
        ]);
      }
    }
  }
  printTable(['backend batch', 'length', 'cache tok/s', 'cache ms/step', 'growth', 'no-cache tok/s', 'no-cache ms/step', 'growth', 'tfjs tok/s', 'no-cache vs tfjs', 'cache vs tfjs'], table);
  for (const r of rows.filter((r) => r.error)) console.log(`  ${r.backend} ${r.cached ? 'cache' : 'no cache'} B=${r.B} length ${r.length} failed: ${r.error}`);
  for (const p of peers.filter((p) => p.error)) console.log(`  tfjs ${p.backend} B=${p.B} length ${p.length} failed: ${p.error}`);
}

// Dawn's promises do not keep Node's event loop alive; hold it open until the end.
const keepAlive = setInterval(() => {}, 1 << 30);
await main();
clearInterval(keepAlive);
