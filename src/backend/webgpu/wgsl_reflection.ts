// What the host needs to know of a WGSL module to dispatch its entry points by name: each
// binding's name and index, the uniform struct's fields and their offsets, and which of them
// each entry point uses. Read from the shader's own declarations, so a shader edit cannot
// silently misalign the host: a dispatch that names a binding or field the shader lacks, or
// leaves out one the entry point uses, is a KernelInterfaceError before anything is recorded.
//
// "Uses" is static use, as WebGPU's 'auto' layout counts it: every module-scope variable an
// entry point's body, or a function it calls (transitively), names. A function's parameters
// and its `let`/`var`/`const` names shadow module-scope names throughout that function.
import { KernelInterfaceError } from '../../errors.js';

export type UniformFieldType = 'u32' | 'i32' | 'f32';

export interface UniformField {
  readonly type: UniformFieldType;
  /** Offset in 32-bit words. */
  readonly word: number;
}

export interface UniformStruct {
  /** The variable's name in the shader (`p` of `var<uniform> p: Params`). */
  readonly variable: string;
  readonly binding: number;
  readonly fields: ReadonlyMap<string, UniformField>;
  /** Size in 32-bit words, rounded up to 16 bytes. */
  readonly words: number;
}

export interface EntryPointInterface {
  readonly entry: string;
  /** Storage bindings the entry point uses: name → binding index. */
  readonly storage: ReadonlyMap<string, number>;
  /** Storage bindings the module declares (for error messages). */
  readonly declared: readonly string[];
  /** The uniform struct, when the entry point uses it, and the fields it reads. */
  readonly uniform: (UniformStruct & { readonly read: ReadonlySet<string> }) | undefined;
}

export interface ModuleInterface {
  readonly entryPoints: ReadonlyMap<string, EntryPointInterface>;
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/g;
const BINDING = /@group\(\s*0\s*\)\s*@binding\(\s*(\d+)\s*\)\s*var\s*<\s*(storage|uniform)\s*(?:,\s*(read|read_write)\s*)?>\s*([A-Za-z_]\w*)\s*:\s*([^;]+);/g;
const STRUCT = /\bstruct\s+([A-Za-z_]\w*)\s*\{([^}]*)\}/g;
const FIELD = /([A-Za-z_]\w*)\s*:\s*([A-Za-z_][\w<>]*)/g;
const FUNCTION = /((?:@[A-Za-z_]\w*(?:\([^)]*\))?\s*)*)\bfn\s+([A-Za-z_]\w*)\s*\(/g;
const LOCAL = /\b(?:let|var|const)\s+([A-Za-z_]\w*)/g;

/** Reads a WGSL module's interface; `file` names it in errors. */
export function reflectWGSL(source: string, file: string): ModuleInterface {
  const code = stripComments(source);
  const storage = new Map<string, number>();
  let uniform: UniformStruct | undefined;
  const uniformVars: { name: string; type: string; binding: number }[] = [];
  for (const m of code.matchAll(BINDING)) {
    const [, index, space, , name, type] = m as unknown as [string, string, string, string | undefined, string, string];
    if (space === 'uniform') uniformVars.push({ name, type: type.trim(), binding: Number(index) });
    else storage.set(name, Number(index));
  }
  if (uniformVars.length > 1) throw new KernelInterfaceError(`${file}: ${uniformVars.length} uniform bindings; the host packs one (struct Params)`);
  if (uniformVars[0]) uniform = uniformStruct(code, file, uniformVars[0]);

  const functions = topLevelFunctions(code, file);
  const entryPoints = new Map<string, EntryPointInterface>();
  for (const f of functions.values()) {
    if (!f.entry) continue;
    const used = staticUse(f.name, functions, uniform?.variable);
    const entryStorage = new Map([...storage].filter(([name]) => used.names.has(name)));
    entryPoints.set(f.name, {
      entry: f.name,
      storage: entryStorage,
      declared: [...storage.keys()],
      uniform: uniform && used.names.has(uniform.variable) ? { ...uniform, read: used.fields } : undefined,
    });
  }
  return { entryPoints };
}

/** Entry point names in declaration order (without a full reflection). */
export function entryPointNames(source: string): string[] {
  return [...topLevelFunctions(stripComments(source), '').values()].filter((f) => f.entry).map((f) => f.name);
}

interface WGSLFunction {
  name: string;
  entry: boolean;
  /** Names the function's body and parameter list mention (member accesses excluded). */
  idents: Set<string>;
  /** Its parameters and local declarations. */
  locals: Set<string>;
  /** Fields read off each name: `p.N` gives p → N. */
  members: Map<string, Set<string>>;
}

function uniformStruct(code: string, file: string, v: { name: string; type: string; binding: number }): UniformStruct {
  const body = [...code.matchAll(STRUCT)].find((m) => m[1] === v.type)?.[2];
  if (body === undefined) throw new KernelInterfaceError(`${file}: the uniform ${v.name} has type ${v.type}, which is not a struct in the module`);
  const fields = new Map<string, UniformField>();
  for (const [, name, type] of body.matchAll(FIELD) as Iterable<[string, string, string]>) {
    if (type !== 'u32' && type !== 'i32' && type !== 'f32') {
      throw new KernelInterfaceError(`${file}: ${v.type}.${name} is ${type}; uniform fields are u32, i32 or f32 scalars (the host packs 32-bit words)`);
    }
    fields.set(name, { type, word: fields.size });
  }
  return { variable: v.name, binding: v.binding, fields, words: Math.max(4, Math.ceil(fields.size / 4) * 4) };
}

/** Module-scope functions with their bodies' names; `@compute` marks entry points. */
function topLevelFunctions(code: string, file: string): Map<string, WGSLFunction> {
  const out = new Map<string, WGSLFunction>();
  for (const m of code.matchAll(FUNCTION)) {
    const name = m[2]!;
    const open = code.indexOf('{', m.index! + m[0].length);
    const close = matchingBrace(code, open, file, name);
    const text = code.slice(m.index! + m[0].length - 1, close + 1);
    const members = new Map<string, Set<string>>();
    for (const a of text.matchAll(/([A-Za-z_]\w*)\s*\.\s*([A-Za-z_]\w*)/g)) {
      let set = members.get(a[1]!);
      if (!set) members.set(a[1]!, (set = new Set()));
      set.add(a[2]!);
    }
    const params = text.slice(1, text.indexOf(')'));
    const locals = new Set([...params.matchAll(/([A-Za-z_]\w*)\s*:/g)].map((p) => p[1]!));
    for (const l of text.matchAll(LOCAL)) locals.add(l[1]!);
    const idents = new Set<string>();
    // Skip member names (after '.') and number suffixes (0xFFu, 1e-7).
    for (const id of text.matchAll(IDENT)) if (!/[.0-9]/.test(text[id.index! - 1] ?? '')) idents.add(id[0]);
    out.set(name, { name, entry: /@compute\b/.test(m[1] ?? ''), idents, locals, members });
  }
  return out;
}

/** The module-scope names an entry point uses, and the uniform fields it reads. */
function staticUse(entry: string, functions: Map<string, WGSLFunction>, uniformVar: string | undefined): { names: Set<string>; fields: Set<string> } {
  const names = new Set<string>();
  const fields = new Set<string>();
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const f = functions.get(name)!;
    for (const id of f.idents) {
      if (f.locals.has(id) || id === name) continue;
      if (functions.has(id)) visit(id);
      else names.add(id);
    }
    if (uniformVar && !f.locals.has(uniformVar)) for (const field of f.members.get(uniformVar) ?? []) fields.add(field);
  };
  visit(entry);
  return { names, fields };
}

function matchingBrace(code: string, open: number, file: string, fn: string): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === '{') depth++;
    else if (code[i] === '}' && --depth === 0) return i;
  }
  throw new KernelInterfaceError(`${file}: fn ${fn} has no closing brace`);
}

/** The source with comments blanked out (line and block comments; block comments nest). */
function stripComments(source: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const two = source.slice(i, i + 2);
    if (depth === 0 && two === '//') {
      const end = source.indexOf('\n', i);
      i = (end < 0 ? source.length : end) - 1;
      continue;
    }
    if (two === '/*') {
      depth++;
      i++;
      continue;
    }
    if (depth > 0 && two === '*/') {
      depth--;
      i++;
      continue;
    }
    if (depth === 0) out += source[i];
    else if (source[i] === '\n') out += '\n';
  }
  return out;
}
