// A config layer read from a JSON file: a local path (Node, Deno) or a URL.
import { ConfigError } from '../../errors.js';
import { locate, pageBase } from '../../io/location.js';
import { platform } from '../../runtime/platform.js';
import { checkConfigLayer, type ConfigSchema } from './schema.js';

async function readBytes(where: string | URL, name: string): Promise<Uint8Array> {
  const at = locate(where);
  if (at.kind === 'file') {
    const fs = platform().fs;
    if (!fs) throw new ConfigError(`${name}: this runtime has no filesystem (a browser or Web Worker); pass a URL, or the config as an object`);
    const bytes = await fs.readFile(at.path);
    if (!bytes) throw new ConfigError(`${name}: no such config file; check the path (a relative path starts at the working directory)`);
    return bytes;
  }
  let url: URL;
  try {
    url = new URL(at.href, pageBase());
  } catch {
    throw new ConfigError(`${name}: not a valid URL or path`);
  }
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new ConfigError(`${name}: could not fetch ${url.href} (${e instanceof Error ? e.message : String(e)}); check the URL and the network`);
  }
  if (!response.ok) throw new ConfigError(`${name}: fetching ${url.href} failed with HTTP ${response.status}; check the URL`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * The config layer in a JSON file (an object of keys), checked against the schema; errors
 * name the file. Merge it with mergeConfig (file values win over presets and defaults, and
 * flags win over the file).
 */
export async function configFromFile<T extends object>(schema: ConfigSchema<T>, path: string | URL): Promise<Partial<T>> {
  const name = typeof path === 'string' ? path : path.href;
  const bytes = await readBytes(path, name);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new ConfigError(`${name}: not valid JSON (${e instanceof Error ? e.message : String(e)}); fix the file`);
  }
  return checkConfigLayer(schema, parsed, name);
}
