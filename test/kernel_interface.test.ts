// The host–kernel interface: every WGSL entry point has an AssemblyScript twin of the same op
// name (and back), bindings and uniforms are read from the shaders' own declarations, and a
// host call that names what a kernel lacks — or leaves out what it uses — fails before
// anything runs, on both backends.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KernelInterfaceError, UnsupportedOpError, opFamily, type GPUKernelContext, type WasmKernelContext } from 'webrlhf';
import { compileWasm } from '../src/backend/wasm/load_wasm.js';
import { kernelNames, readKernelManifest } from '../src/backend/wasm/kernel_manifest.js';
import { packUniform } from '../src/backend/webgpu/uniform_ring.js';
import { reflectWGSL } from '../src/backend/webgpu/wgsl_reflection.js';
import { fileOfEntryPoint, kernelFiles, kernelModule } from '../src/backend/webgpu/wgsl_sources.js';
import { platform } from '../src/runtime/platform.js';
import { legBackend, legBackendInstance as backend } from './harness/runtime.js';

const test = suite('kernel interface');

/** Every kernel file's entry points, reflected from its module (includes expanded). */
function wgslEntryPoints(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const file of kernelFiles()) for (const entry of reflectWGSL(kernelModule(file), file).entryPoints.keys()) entries.set(entry, file);
  return entries;
}

async function wasmKernels(): Promise<string[]> {
  return kernelNames(readKernelManifest(await compileWasm(await platform().wasmSource('single'))));
}

const isKernelError = (pattern: RegExp) => (e: unknown) => e instanceof KernelInterfaceError && pattern.test((e as Error).message);

test('every WGSL entry point has its AssemblyScript twin under the same op name, and every WASM kernel its WGSL entry points', async () => {
  const entries = wgslEntryPoints();
  const kernels = new Set(await wasmKernels());
  // `<kernel>__<variant>` is a WebGPU-only form of the kernel (one invocation per row, an in-place form, a pass of a multi-pass op).
  const opOf = (entry: string) => entry.split('__')[0]!;
  const orphans = [...entries.keys()].filter((e) => !kernels.has(opOf(e)));
  assert.equal(orphans, [], `WGSL entry points without a WASM kernel of their op name: ${orphans.join(', ')}`);
  const ops = new Set([...entries.keys()].map(opOf));
  const missing = [...kernels].filter((k) => !ops.has(k));
  assert.equal(missing, [], `WASM kernels without a WGSL entry point: ${missing.join(', ')}`);
  assert.ok(kernels.size >= 30, `only ${kernels.size} kernels found`);
  // An entry point's name alone finds its file.
  for (const [entry, file] of entries) assert.is(fileOfEntryPoint(entry), file);
});

test('every WGSL entry point binds at most 8 storage buffers, the default limit per shader stage', () => {
  const over: string[] = [];
  for (const file of kernelFiles()) {
    for (const [entry, iface] of reflectWGSL(kernelModule(file), file).entryPoints) if (iface.storage.size > 8) over.push(`${entry} (${iface.storage.size})`);
  }
  assert.equal(over, [], `entry points over 8 storage buffers: ${over.join(', ')}`);
});

test('reflection: bindings and fields an entry point uses, through helpers, with shadowing and includes', () => {
  const source = `
    struct Params { n: u32, scale: f32, unused: u32, _pad: u32 }
    @group(0) @binding(0) var<storage, read> x: array<f32>;
    @group(0) @binding(1) var<storage, read> mean: array<f32>;   // a name other functions shadow
    @group(0) @binding(2) var<storage, read_write> out: array<f32>;
    @group(0) @binding(3) var<uniform> p: Params;
    fn helper(i: u32) -> f32 { return x[i] * p.scale; }
    // reads mean and out only through its comments: out[0] = mean[0];
    @compute @workgroup_size(64)
    fn first(@builtin(global_invocation_id) gid: vec3<u32>) {
      let mean = 2.0; /* not the binding: a local */
      if (gid.x < p.n) { out[gid.x] = helper(gid.x) + mean; }
    }
    @compute @workgroup_size(64) fn second(@builtin(global_invocation_id) gid: vec3<u32>) { out[gid.x] = mean[gid.x]; }`;
  const m = reflectWGSL(source, 'synthetic.wgsl');
  const first = m.entryPoints.get('first')!;
  assert.equal([...first.storage], [['x', 0], ['out', 2]]);
  assert.equal([...first.uniform!.read].sort(), ['n', 'scale']);
  assert.is(first.uniform!.fields.get('scale')!.word, 1);
  const second = m.entryPoints.get('second')!;
  assert.equal([...second.storage], [['mean', 1], ['out', 2]]);
  assert.is(second.uniform, undefined);
  assert.throws(() => reflectWGSL('struct Params { v: vec2<f32> }\n@group(0) @binding(0) var<uniform> p: Params;', 'bad.wgsl'), isKernelError(/uniform fields are u32, i32 or f32/));
});

test('uniforms pack by name: every read field given, nothing the struct lacks, integers where the shader wants them', () => {
  const m = reflectWGSL(`struct Params { n: u32, s: f32, k: i32, _p: u32 }
    @group(0) @binding(0) var<uniform> p: Params;
    @compute @workgroup_size(1) fn main() { let a = f32(p.n) * p.s + f32(p.k); }`, 'pack.wgsl');
  const u = m.entryPoints.get('main')!.uniform!;
  const bytes = packUniform('main', u, { n: 7, s: 0.5, k: -3 });
  assert.equal([new Uint32Array(bytes)[0], new Float32Array(bytes)[1], new Int32Array(bytes)[2]], [7, 0.5, -3]);
  assert.is(bytes.byteLength, 16);
  assert.throws(() => packUniform('main', u, { n: 7, s: 0.5 }), isKernelError(/reads p\.k, which the host did not give/));
  assert.throws(() => packUniform('main', u, { n: 7, s: 0.5, k: 1, q: 2 }), isKernelError(/no field q/));
  assert.throws(() => packUniform('main', u, { n: 1.5, s: 0.5, k: 1 }), isKernelError(/p\.n is u32, given 1\.5/));
});

test('an include pulls its file in front once, includes of includes first', () => {
  const losses = kernelModule('losses/dpo.wgsl');
  const at = (path: string) => losses.indexOf(`// ---- ${path}`);
  assert.ok(at('lib/workgroup_reduce.wgsl') >= 0 && at('lib/math.wgsl') >= 0);
  assert.ok(at('lib/workgroup_reduce.wgsl') < at('lib/loss_workgroup.wgsl') && at('lib/loss_workgroup.wgsl') < at('losses/dpo.wgsl'));
  assert.is(losses.split('// ---- lib/workgroup_reduce.wgsl').length, 2);
});

/** A family that hands its implementation the backend's kernel context itself. */
const rawContext = opFamily<GPUKernelContext | WasmKernelContext>('test: the raw context', { webgpu: (gpu) => gpu, wasm: (cpu) => cpu });

if (legBackend() === 'webgpu') {
  test('WebGPU dispatch names bindings and fields; a missing, unknown or unused one fails before recording', async () => {
    const be = await backend();
    const gpu = be.kernels(rawContext) as GPUKernelContext;
    const [a, b, out] = [be.tensor([1, 2]), be.tensor([3, 4]), be.zeros([2])];
    gpu.dispatch('add', 'add', { a, b, out }, { n: 2, row: 2 }, [1, 1]);
    assert.equal([...(await be.read(out))], [4, 6]);
    assert.throws(() => gpu.dispatch('add', 'add', { a, out }, { n: 2, row: 2 }, [1, 1]), isKernelError(/uses binding b, which the host did not give/));
    assert.throws(() => gpu.dispatch('add', 'add', { a, b, out, c: a }, { n: 2, row: 2 }, [1, 1]), isKernelError(/does not use binding c/));
    // add__into reads b and writes out; a is declared in the module but unused there.
    assert.throws(() => gpu.dispatch('add', 'add__into', { a, b, out }, { n: 2, row: 2 }, [1, 1]), isKernelError(/does not use binding a/));
    assert.throws(() => gpu.dispatch('add', 'add', { a, b, out }, { n: 2 }, [1, 1]), isKernelError(/reads p\.row/));
    assert.throws(() => gpu.dispatch('add', 'no_such_kernel', {}, {}, [1, 1]), isKernelError(/no kernel under kernels\/ has an entry point no_such_kernel/));
  });
} else {
  test('WASM kernels are called by parameter name; a missing, unknown or mistyped one fails before the call', async () => {
    const be = await backend();
    const cpu = be.kernels(rawContext) as WasmKernelContext;
    const [a, b, out] = [be.tensor([1, 2]), be.tensor([3, 4]), be.zeros([2])];
    cpu.call('add', { a, b, out, n: 2 });
    assert.equal([...(await be.read(out))], [4, 6]);
    assert.throws(() => cpu.call('add', { a, b, out }), isKernelError(/no value for parameter 'n'/));
    assert.throws(() => cpu.call('add', { a, b, out, n: 2, m: 1 }), isKernelError(/has no parameter 'm'/));
    assert.throws(() => cpu.call('add', { a, b, out, n: 1.5 }), isKernelError(/'n' is i32, given 1\.5/));
    assert.throws(() => cpu.call('no_such_kernel', {}), isKernelError(/has no kernel no_such_kernel/));
    assert.throws(() => cpu.split('add', { a, b, out, n: 2 }, { rows: 2, work: 2, minWork: 1 }), isKernelError(/takes no \(part, parts\)/));
  });
}

test('a family without an implementation for this backend is refused by name', async () => {
  const be = await backend();
  const other = be.kind === 'webgpu' ? 'wasm' : 'webgpu';
  const family = opFamily<{ go(): void }>('test-only', { [other]: () => ({ go() {} }) });
  assert.throws(() => be.kernels(family, 'goOp'), (e: unknown) => e instanceof UnsupportedOpError && new RegExp(`goOp: the 'test-only' ops have no ${be.kind} implementation; use a backend that has one \\(${other}\\)`).test((e as Error).message));
});

test.run();
