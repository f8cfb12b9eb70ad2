// The WGSL kernels, inlined at build time (every .wgsl under kernels/), and the one piece of
// preprocessing they get: a line `//! include lib/x.wgsl` puts that file in front of the
// module, once, includes of includes first. WGSL has no includes of its own; shared helpers
// (workgroup reductions, logistic functions, Philox) live once in kernels/lib/.
//
// Entry points are named after the op's kernel, as its AssemblyScript twin is (`layernorm`),
// or `<kernel>__<variant>` for a WebGPU-only form of it (`layernorm__rows`), so an entry
// point's name alone finds its file.
import SOURCES from 'webrlhf:kernel-sources';
import { KernelInterfaceError } from '../../errors.js';
import { entryPointNames } from './wgsl_reflection.js';

const INCLUDE = /^\/\/! include (\S+)\s*$/gm;
const LIB = 'lib/';

/** The kernel files (not lib/), by their path under kernels/. */
export function kernelFiles(): string[] {
  return Object.keys(SOURCES).filter((f) => !f.startsWith(LIB)).sort();
}

/** A kernel file as one module: its includes (transitively, each once) in front of it. */
export function kernelModule(file: string): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  const add = (path: string, from: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    const source = SOURCES[path];
    if (source === undefined) throw new KernelInterfaceError(`${from} includes ${path}, which is not a file under kernels/`);
    for (const m of source.matchAll(INCLUDE)) add(m[1]!, path);
    parts.push(`// ---- ${path}\n${source}`);
  };
  add(file, 'the host');
  return parts.join('\n');
}

let entryFiles: Map<string, string> | undefined;

/** The file that defines entry point `entry`. */
export function fileOfEntryPoint(entry: string): string {
  if (!entryFiles) {
    entryFiles = new Map();
    for (const file of kernelFiles()) {
      for (const name of entryPointNames(SOURCES[file]!)) {
        const other = entryFiles.get(name);
        if (other) throw new KernelInterfaceError(`entry point ${name} is defined in both kernels/${other} and kernels/${file}; entry point names are unique`);
        entryFiles.set(name, file);
      }
    }
  }
  const file = entryFiles.get(entry);
  if (!file) throw new KernelInterfaceError(`no kernel under kernels/ has an entry point ${entry}`);
  return file;
}
