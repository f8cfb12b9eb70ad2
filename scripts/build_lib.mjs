// Build steps shared by `npm run build` and the test/bench runners. Plain ESM on purpose:
// it runs unchanged under Node and Deno (`deno run -A scripts/build.mjs`).
import * as esbuild from 'esbuild';
import asc from 'assemblyscript/asc';
import ts from 'typescript';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const WASM_FLAGS = ['--runtime', 'stub', '--enable', 'simd', '-O3', '--noAssert', '--converge'];

/** Compiles wasm/ (AssemblyScript) to one SIMD module. */
export async function buildWasm(outFile) {
  await mkdir(dirname(outFile), { recursive: true });
  const { error, stderr } = await asc.main([join(root, 'wasm/index.ts'), '-o', outFile, ...WASM_FLAGS]);
  if (error) throw new Error(`AssemblyScript failed: ${error.message}\n${stderr.toString()}`);
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
  const wasm = join(dist, 'webrlhf.wasm');
  await buildWasm(wasm);
  await bundle({ entry: join(root, 'src/entry/node.ts'), outFile: join(dist, 'node/index.js'), target: 'node' });
  await bundle({ entry: join(root, 'src/entry/web.ts'), outFile: join(dist, 'web/index.js'), target: 'web' });
  await bundle({ entry: join(root, 'src/cli/main.ts'), outFile: join(dist, 'node/cli.js'), target: 'node' });
  for (const dir of ['node', 'web']) await copyFile(wasm, join(dist, dir, 'webrlhf.wasm'));
  buildTypes();
  const size = (await readFile(wasm)).byteLength;
  return { wasmBytes: size };
}
