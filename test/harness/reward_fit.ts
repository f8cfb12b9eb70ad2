// Whether a pipeline's reward model learned: the share of its own training pairs it ranks
// chosen above rejected. A reward model that never stepped has a zero score head, so it
// scores every response alike and ranks no pair (ties count as misses).
import { byteTokenizer, encodePreference, loadModel, rewardScores, type Backend, type ModelFolderSource, type PreferenceRecord } from 'webrlhf';

/** The model folder `dir` of a run storage (memoryRunStorage) or a directory path. */
export function storedFolder(storage: { read(path: string): Promise<Uint8Array | undefined> }, dir: string): ModelFolderSource {
  return { location: dir, read: (name) => storage.read(`${dir}/${name}`) };
}

/** The share of `records` the reward model at `folder` scores chosen > rejected (the built-in task's byte tokenizer; pairs cut to maxLength tokens, the run's n_positions). */
export async function rewardFit(backend: Backend, folder: string | ModelFolderSource, records: readonly PreferenceRecord[], maxLength: number): Promise<number> {
  const tokenizer = byteTokenizer();
  const model = await loadModel(backend, folder);
  try {
    // Encoded as the reward trainer encodes its pairs (the response ends with EOS, where the score is read).
    const pairs = records.flatMap((r) => {
      const e = encodePreference(tokenizer, r, { maxLength });
      return [{ prompt: e.prompt, response: e.chosen }, { prompt: e.prompt, response: e.rejected }];
    });
    const scores = await rewardScores(model, pairs);
    return records.filter((_, i) => scores[2 * i]! > scores[2 * i + 1]!).length / records.length;
  } finally {
    model.dispose();
  }
}
