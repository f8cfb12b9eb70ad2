// dropout against the host's Philox: the mask is philoxUniforms(n, { seed, stream, offset })
// thresholded at p, element for element on every backend, and kept values are x·f32(1/(1 − p))
// exactly; accumulation, p = 0, the backward as the same call, the fraction kept, bad input.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, ShapeError, dropout, philox4x32, philoxUniforms, uniformFromBits, type DropoutOptions } from 'webrlhf';
import { assertClose, randomF32 } from './harness/reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('dropout');

/** What dropout writes (without accumulate) where element i drew uniform u: x·0 or x·f32(1/(1 − p)), in f32. */
function dropoutRef(x: ArrayLike<number>, u: ArrayLike<number>, p: number): Float32Array {
  const scale = Math.fround(1 / (1 - p));
  return Float32Array.from(x, (v, i) => v * (u[i]! >= p ? scale : 0));
}

/** dropout of x on the leg's backend, read back; `into` is out's starting value (with accumulate). */
async function run(x: Float32Array, o: DropoutOptions, into?: Float32Array, shape = [x.length]): Promise<Float32Array> {
  const be = await backend();
  const tx = be.tensor(x, shape);
  const out = into ? be.tensor(into) : be.zeros([x.length]);
  dropout(tx, out, o);
  const got = await be.read(out);
  tx.dispose();
  out.dispose();
  return got;
}

function assertExact(got: Float32Array, want: Float32Array, what: string): void {
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) assert.unreachable(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
}

test('the mask is the host philoxUniforms ≥ p, element for element, and kept values are x / (1 − p) (streams, offsets, ragged sizes, any shape)', async () => {
  const cases: (DropoutOptions & { n: number; shape?: number[] })[] = [
    { n: 1, seed: 3, stream: 0, offset: 0, p: 0.5 },
    { n: 63, seed: 4, stream: 17, offset: 1, p: 0.1 },
    { n: 4099, seed: 2 ** 32 + 5, stream: 1000, offset: 7, p: 1 / 3 },
    { n: 1000, seed: Number.MAX_SAFE_INTEGER, stream: 2 ** 32 - 1000, offset: 2 ** 32 - 1, p: 0.9 },
    { n: 3 * 7 * 11, shape: [3, 7, 11], seed: 6, stream: 5, offset: 2, p: 0.25 },
  ];
  for (const { n, shape, ...o } of cases) {
    const x = randomF32(n, 40 + n);
    const want = dropoutRef(x, philoxUniforms(n, o), o.p);
    assertExact(await run(x, o, undefined, shape), want, JSON.stringify(o));
  }
});

test('p exactly at a drawn uniform keeps it, p just above drops it (p rounded to f32 would not)', async () => {
  const n = 2000;
  const base = { seed: 8, stream: 300, offset: 4 };
  const u = philoxUniforms(n, base);
  const x = new Float32Array(n).fill(1);
  // A uniform above 1/2, where f32's spacing is the uniforms' 2⁻²⁴: p a hair above it rounds
  // to it in f32, so a device comparing with f32(p) would keep it.
  const j = u.findIndex((v) => v > 0.5 && v < 0.99);
  for (const p of [u[j]!, u[j]! + 2 ** -30]) {
    const got = await run(x, { ...base, p });
    assert.is(got[j] !== 0, p === u[j], `element ${j} (u = ${u[j]}) at p = ${p}`);
    assertExact(got, dropoutRef(x, u, p), `p = ${p}`);
  }
});

test('past 65535 workgroups (a 2-D grid; several threads on WASM): the host mask, and the fraction kept ≈ 1 − p', async () => {
  const be = await backend();
  const n = 64 * 65535 + 100;
  const o = { seed: 2 ** 33 + 9, stream: 12, offset: 5, p: 0.3 };
  const x = be.tensor(new Float32Array(n).fill(1));
  const out = be.zeros([n]);
  dropout(x, out, o);
  const got = await be.read(out);
  x.dispose();
  out.dispose();
  const scale = Math.fround(1 / (1 - o.p));
  for (let i = 0; i < n; i += i < n - 200 ? 4099 : 1) {
    const u = uniformFromBits(philox4x32([o.stream + i, o.offset, 0, 0], [9, 2])[0]!);
    assert.is(got[i], u >= o.p ? scale : 0, `element ${i}`);
  }
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (got[i] === scale) kept++;
    else if (got[i] !== 0) assert.unreachable(`element ${i} is ${got[i]}, neither 0 nor 1/(1 − p)`);
  }
  // 6 standard deviations of a binomial fraction (~0.0013 here).
  const sd = Math.sqrt(o.p * (1 - o.p) / n);
  assert.ok(Math.abs(kept / n - (1 - o.p)) < 6 * sd, `kept ${kept / n} of the elements, expected ${1 - o.p} ± ${6 * sd}`);
});

test('accumulate adds into out; p = 0 is exact (out = x, out += x) whether or not it accumulates', async () => {
  const n = 777;
  const x = randomF32(n, 50);
  const before = randomF32(n, 51);
  const o = { seed: 10, stream: 3, offset: 9, p: 0.4 };
  const u = philoxUniforms(n, o);
  const dropped = dropoutRef(x, u, o.p);
  const got = await run(x, { ...o, accumulate: true }, before);
  // A device may fuse x·s + out into one rounding: close, and exact where the value was dropped.
  assertClose(got, dropped.map((v, i) => v + before[i]!), { rtol: 1e-6, atol: 1e-7, what: 'accumulate' });
  for (let i = 0; i < n; i++) if (u[i]! < o.p) assert.is(got[i], before[i], `dropped element ${i} leaves out as it was`);

  const zero = { seed: 10, stream: 3, offset: 9, p: 0 };
  assertExact(await run(x, zero, before), x, 'p = 0');
  assertExact(await run(x, { ...zero, accumulate: true }, before), Float32Array.from(x, (v, i) => v + before[i]!), 'p = 0, accumulate');
});

test('the same call on ∂L/∂out is the backward: ⟨dropout(x), g⟩ = ⟨x, dropout(g)⟩', async () => {
  const n = 3000;
  const o = { seed: 12, stream: 40, offset: 1, p: 0.2 };
  const [x, g] = [randomF32(n, 60), randomF32(n, 61)];
  const [y, dx] = [await run(x, o), await run(g, o)];
  let forward = 0, backward = 0;
  for (let i = 0; i < n; i++) {
    forward += y[i]! * g[i]!;
    backward += x[i]! * dx[i]!;
  }
  assert.ok(Math.abs(forward - backward) < 1e-9 * n, `⟨dropout(x), g⟩ = ${forward}, ⟨x, dropout(g)⟩ = ${backward}`);
});

test('bad p, aliasing, sizes and counters are typed errors naming the problem', async () => {
  const be = await backend();
  const x = be.zeros([4, 16]);
  const out = be.zeros([64]);
  const base = { seed: 1, stream: 0, offset: 0, p: 0.5 };
  const is = (type: typeof ConfigError | typeof ShapeError, re: RegExp) => (e: unknown) => e instanceof type && re.test((e as Error).message);
  for (const p of [-0.1, 1, 1.5, NaN, Infinity, -Infinity, '0.5' as unknown as number, undefined as unknown as number]) {
    assert.throws(() => dropout(x, out, { ...base, p }), is(ConfigError, /dropout: p .* must be a number in \[0, 1\)/), `p = ${p}`);
  }
  assert.throws(() => dropout(x, x, base), is(ShapeError, /dropout: output .* shares storage with input/));
  const root = be.zeros([128]);
  assert.throws(() => dropout(be.view(root, 0, [64]), be.view(root, 64, [64]), base), is(ShapeError, /shares storage/), 'views of one buffer');
  const short = be.zeros([63]);
  assert.throws(() => dropout(x, short, base), is(ShapeError, /dropout: out has 63 elements .* expected 64/));
  assert.throws(() => dropout(x, out, { ...base, stream: 2 ** 32 - 63 }), is(ConfigError, /dropout: stream/));
  assert.throws(() => dropout(x, out, { ...base, seed: -1 }), is(ConfigError, /dropout: seed/));
  assert.throws(() => dropout(x, out, undefined as unknown as DropoutOptions), is(ConfigError, /dropout: options/));
  for (const t of [x, out, root, short]) t.dispose();
});

test.run();
