// How every config-driven command reads its settings: `--help` prints the command's help,
// else the keys come from the defaults, then `--config FILE` (JSON), then the flags.
import { configFromFile } from '../training/config/file.js';
import { configFlags } from '../training/config/flags.js';
import { mergeConfig, type ConfigSchema } from '../training/config/schema.js';

/** The merged config, or undefined when --help was asked for (and printed). */
export async function commandConfig<T extends object>(schema: ConfigSchema<T>, argv: string[], command: string, help: () => string): Promise<T | undefined> {
  const s = schema as unknown as ConfigSchema<Record<string, unknown>>;
  const flags = configFlags(s, argv, { extra: { config: 'string', help: 'boolean' } });
  if (flags.extra.help) {
    console.log(help());
    return undefined;
  }
  const layers = [];
  if (typeof flags.extra.config === 'string') layers.push(await configFromFile(s, flags.extra.config));
  layers.push(flags.values);
  return mergeConfig(s, layers, command) as unknown as T;
}
