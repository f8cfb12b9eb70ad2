// The golden fixtures made by Hugging Face's libraries themselves (test/fixtures/hf-tiny,
// peft-tiny): where they are in each runtime, their batch, their outputs.
import { parseSafetensors, resolveFolderSource, type TokenBatch } from 'webrlhf';
import { platform } from '../../src/runtime/platform.js';

/** A fixture folder's path: a directory in Node and Deno, a URL under the test server in a browser. */
export const fixtureFolder = (path: string) => (platform().fs ? `test/fixtures/${path}` : `/test/fixtures/${path}`);

/** A tiny model's batch.json (as TokenBatch, with its attention mask flattened) and golden.safetensors. */
export async function hfFixture(path: string, goldenPath = path) {
  const source = resolveFolderSource(fixtureFolder(path));
  const batch = JSON.parse(new TextDecoder().decode(await source.read('batch.json'))) as { input_ids: number[][]; attention_mask: number[][]; labels: number[][] };
  const goldenBytes = await resolveFolderSource(fixtureFolder(goldenPath)).read('golden.safetensors');
  const golden = parseSafetensors(goldenBytes!, `${goldenPath}/golden.safetensors`);
  const tokens: TokenBatch = { inputIds: batch.input_ids, attentionMask: batch.attention_mask, labels: batch.labels };
  return { tokens, mask: batch.attention_mask.flat(), golden };
}

/** max |got − want| / max |want|: the error relative to the tensor's scale. */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>, keep: (i: number) => boolean = () => true): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    if (!keep(i)) continue;
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / scale;
}
