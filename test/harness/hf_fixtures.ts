// The golden fixtures made by Hugging Face's libraries themselves (test/fixtures/hf-tiny,
// peft-tiny): where they are in each runtime, their batch, their outputs.
import * as assert from 'uvu/assert';
import { checkpointTensorName, parseSafetensors, resolveFolderSource, type CausalLM, type TokenBatch } from 'webrlhf';
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

/** The families of test/fixtures/hf-tiny. */
export const HF_FAMILIES = ['gpt2', 'llama', 'qwen2', 'qwen3'] as const;
/** transformers computes in f32 as webrlhf does; the sums run in other orders. */
export const GOLDEN_TOLERANCE = 1e-4;

/** Every parameter's gradient against transformers' (golden `grad.<name>`), within GOLDEN_TOLERANCE. */
export function assertGoldenGradients(model: CausalLM, grads: Map<string, Float32Array>, golden: Map<string, { data: Float32Array }>, what = ''): void {
  const gradNames = [...golden.keys()].filter((k) => k.startsWith('grad.'));
  assert.is(gradNames.length, model.layout.specs.length, 'transformers has one gradient per webrlhf parameter');
  for (const key of gradNames) {
    const name = checkpointTensorName(model.arch, key.slice('grad.'.length)).name;
    const g = grads.get(name);
    assert.ok(g, `webrlhf has no parameter ${name}`);
    const err = relativeError(g!, golden.get(key)!.data);
    assert.ok(err < GOLDEN_TOLERANCE, `${what}${name}: gradient relative error ${err}`);
  }
}
