// Build steps shared by `npm run build` and the test/bench runners. Plain ESM on purpose:
// it runs unchanged under Node and Deno (`deno run -A scripts/build.mjs`).
import * as esbuild from 'esbuild';
import asc from 'assemblyscript/asc';
import ts from 'typescript';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KERNEL_SECTION, kernelManifest, withCustomSection } from './wasm_manifest.mjs';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Memory is imported (JavaScript creates it) and may grow to wasm32's 4 GiB.
export const WASM_FLAGS = ['--runtime', 'stub', '-O3', '--noAssert', '--converge', '--importMemory', '--initialMemory', '16', '--maximumMemory', '65536'];
export const WASM_FILES = { single: 'webrlhf.wasm', threads: 'webrlhf-mt.wasm' };

/**
 * Compiles wasm/ (AssemblyScript) into `dir` twice: a SIMD module on a plain memory, and one
 * on a shared memory for threads (used where SharedArrayBuffer is available). Both carry the
 * kernels' parameter names (scripts/wasm_manifest.mjs) in a custom section.
 */
export async function buildWasm(dir) {
  await mkdir(dir, { recursive: true });
  const variants = [
    [WASM_FILES.single, ['--enable', 'simd']],
    [WASM_FILES.threads, ['--enable', 'simd,threads', '--sharedMemory']],
  ];
  const modules = [];
  for (const [file, flags] of variants) {
    const { error, stderr } = await asc.main([join(root, 'wasm/index.ts'), '-o', join(dir, file), ...WASM_FLAGS, ...flags]);
    if (error) throw new Error(`AssemblyScript failed (${file}): ${error.message}\n${stderr.toString()}`);
    modules.push([file, await readFile(join(dir, file))]);
  }
  const [, single] = modules[0];
  const instance = new WebAssembly.Instance(new WebAssembly.Module(single), { env: { memory: new WebAssembly.Memory({ initial: 16, maximum: 65536 }), abort() {} } });
  const functions = Object.entries(instance.exports).filter(([, v]) => typeof v === 'function');
  const lengths = Object.fromEntries(functions.map(([name, fn]) => [name, fn.length]));
  const manifest = await kernelManifest(join(root, 'wasm'), Object.keys(lengths), (name) => lengths[name]);
  const payload = new TextEncoder().encode(JSON.stringify(manifest));
  for (const [file, bytes] of modules) await writeFile(join(dir, file), withCustomSection(bytes, KERNEL_SECTION, payload));
}

/**
 * Bundles one entry with the WGSL kernels inlined as text. `target` is 'node' (Dawn from the
 * npm package `webgpu`, left external) or 'web' (Deno and browsers: no node: imports).
 * `alias` maps bare names to source files (tests import the package as 'webrlhf').
 */
export async function bundle({ entry, outFile, target, alias = {}, banner }) {
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    format: 'esm',
    platform: target === 'node' ? 'node' : 'browser',
    target: target === 'node' ? 'node20' : 'es2022',
    external: target === 'node' ? ['webgpu', 'playwright-core', '@tensorflow/*'] : ['@tensorflow/*'],
    loader: { '.wgsl': 'text' },
    plugins: [kernelSourcesPlugin],
    alias,
    sourcemap: 'linked',
    logLevel: 'warning',
    metafile: true,
    banner: banner ? { js: banner } : undefined,
  });
  if (target !== 'node') {
    const nodeImports = Object.values(result.metafile.outputs).flatMap((o) => o.imports).filter((i) => i.path.startsWith('node:'));
    if (nodeImports.length) throw new Error(`${entry}: the web bundle pulls in ${nodeImports.map((i) => i.path).join(', ')}`);
  }
  return result;
}

/** The virtual module every WGSL kernel comes from (src/backend/webgpu/wgsl_sources.ts). */
export const KERNEL_SOURCES_MODULE = 'webrlhf:kernel-sources';

/**
 * Resolves KERNEL_SOURCES_MODULE to `export default { 'lib/math.wgsl': '…', … }`: every .wgsl
 * file under kernels/ by its path there, so a new kernel file needs no registry entry.
 */
const kernelSourcesPlugin = {
  name: 'webrlhf-kernel-sources',
  setup(build) {
    build.onResolve({ filter: /^webrlhf:kernel-sources$/ }, () => ({ path: KERNEL_SOURCES_MODULE, namespace: 'webrlhf-kernels' }));
    build.onLoad({ filter: /.*/, namespace: 'webrlhf-kernels' }, async () => {
      const dir = join(root, 'kernels');
      const files = await wgslFiles(dir);
      const sources = {};
      for (const f of files) sources[f] = await readFile(join(dir, f), 'utf8');
      return { contents: `export default ${JSON.stringify(sources)};`, loader: 'js', watchFiles: files.map((f) => join(dir, f)) };
    });
  },
};

async function wgslFiles(dir, prefix = '') {
  const out = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await wgslFiles(dir, path)));
    else if (e.name.endsWith('.wgsl')) out.push(path);
  }
  return out.sort();
}

/** Puts both WASM modules beside a bundle, which loads them from its own directory. */
export async function copyWasm(fromDir, toDir) {
  await mkdir(toDir, { recursive: true });
  for (const file of Object.values(WASM_FILES)) await copyFile(join(fromDir, file), join(toDir, file));
}

/** Type declarations for the package (dist/types), through the compiler API so Deno runs it too. */
export function buildTypes() {
  const configPath = join(root, 'tsconfig.build.json');
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  const program = ts.createProgram(config.fileNames, config.options);
  const { diagnostics } = program.emit();
  const errors = [...ts.getPreEmitDiagnostics(program), ...diagnostics].filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) throw new Error(ts.formatDiagnostics(errors, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }));
}

/** The package's dist/: Node and web bundles, each with the WASM module beside it, and the CLI. */
export async function buildPackage() {
  const dist = join(root, 'dist');
  await buildWasm(dist);
  await bundle({ entry: join(root, 'src/entry/node.ts'), outFile: join(dist, 'node/index.js'), target: 'node' });
  await bundle({ entry: join(root, 'src/entry/web.ts'), outFile: join(dist, 'web/index.js'), target: 'web' });
  await bundle({ entry: join(root, 'src/cli/main.ts'), outFile: join(dist, 'node/cli.js'), target: 'node' });
  for (const dir of ['node', 'web']) await copyWasm(dist, join(dist, dir));
  buildTypes();
  return { wasmBytes: (await readFile(join(dist, WASM_FILES.single))).byteLength };
}
