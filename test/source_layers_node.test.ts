// The source tree's layers, checked so that a move cannot quietly turn one around: the built-in
// tasks know no algorithm (the algorithms may use a task, never the reverse), the training
// loop knows no algorithm, the algorithms know no pipeline, and only the CLI sits above the
// pipelines.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const test = suite('source layers');

/** For each folder of src/, the folders of src/ it must not import from. */
const FORBIDDEN: Record<string, string[]> = {
  tasks: ['algorithms', 'training', 'pipelines', 'cli'],
  training: ['algorithms', 'pipelines', 'cli'],
  algorithms: ['pipelines', 'cli'],
  pipelines: ['cli'],
};

/** Every relative import of a TypeScript file, as the folder of src/ it lands in. */
async function importedFolders(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => relative('src', join(dirname(file), s)).split(/[\\/]/)[0]!);
}

test('src/tasks imports no algorithm, src/training no algorithm or pipeline, src/algorithms no pipeline', async () => {
  const broken: string[] = [];
  for (const [folder, forbidden] of Object.entries(FORBIDDEN)) {
    const files = (await readdir(join('src', folder), { recursive: true })).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length > 0, `src/${folder} has TypeScript files`);
    for (const f of files) {
      const path = join('src', folder, f);
      for (const target of await importedFolders(path)) if (forbidden.includes(target)) broken.push(`${path} imports from src/${target}`);
    }
  }
  assert.equal(broken, []);
});

test.run();
