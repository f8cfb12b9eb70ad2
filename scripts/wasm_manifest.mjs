// The WASM kernels' interface, made at build time from wasm/'s own AssemblyScript signatures
// and stored in the module itself (a custom section, KERNEL_SECTION), so the host calls every
// export by parameter name and the names always travel with the binary they describe
// (src/backend/wasm/kernel_manifest.ts reads them back). Plain ESM: runs under Node and Deno.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

export const KERNEL_SECTION = 'webrlhf.kernels';
const TYPES = new Set(['usize', 'i32', 'u32', 'f32', 'f64', 'bool', 'void']);

/**
 * { exports: { name: { params: [[name, type], ...], result } } } for every function the
 * compiled module exports, from the `export function` declarations under `dir`. Each export's
 * parameter count is checked against the compiled function's (`lengthOf(name)`).
 */
export async function kernelManifest(dir, exportedFunctions, lengthOf) {
  const signatures = new Map();
  for (const file of await sourceFiles(dir)) {
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/export\s+function\s+([A-Za-z_]\w*)\s*\(([^)]*)\)\s*:\s*([A-Za-z_]\w*)/g)) {
      const [, name, list, result] = m;
      const where = `${relative(dir, file)}: ${name}`;
      signatures.set(name, [...(signatures.get(name) ?? []), { where, list, result }]);
    }
  }
  const exports = {};
  for (const name of exportedFunctions) {
    const found = signatures.get(name) ?? [];
    if (found.length !== 1) {
      throw new Error(`the WASM module exports ${name}, declared by ${found.length ? found.map((f) => f.where).join(' and ') : `no 'export function ${name}(…)' under ${dir}`}: give each export one declaration`);
    }
    const s = { where: found[0].where, params: parameters(found[0].list, found[0].where), result: checkType(found[0].result, found[0].where) };
    if (s.params.length !== lengthOf(name)) throw new Error(`${s.where}: ${s.params.length} parameters in the source, ${lengthOf(name)} in the compiled export`);
    exports[name] = { params: s.params, result: s.result };
  }
  return { exports };
}

/** The module with a custom section appended (custom sections may come anywhere after the header). */
export function withCustomSection(wasm, name, payload) {
  const enc = new TextEncoder();
  const nameBytes = enc.encode(name);
  const body = [...leb128(nameBytes.length), ...nameBytes, ...payload];
  return new Uint8Array([...wasm, 0, ...leb128(body.length), ...body]);
}

function parameters(list, where) {
  return list.split(',').map((p) => p.trim()).filter(Boolean).map((p) => {
    const m = /^([A-Za-z_]\w*)\s*:\s*([A-Za-z_]\w*)(\s*=.*)?$/.exec(p);
    if (!m) throw new Error(`${where}: cannot read parameter '${p}'`);
    return [m[1], checkType(m[2], where)];
  });
}

function checkType(type, where) {
  if (!TYPES.has(type)) throw new Error(`${where}: type ${type} cannot cross to JavaScript as a kernel argument (use ${[...TYPES].join(', ')})`);
  return type;
}

function leb128(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

async function sourceFiles(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (e.name.endsWith('.ts')) out.push(path);
  }
  return out.sort();
}
