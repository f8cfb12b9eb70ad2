// A reward model's embedding of a response: its final hidden state at the last token, what
// the score head reads. RLP-SPG's free-text equivalence compares these by cosine.
import type { CausalLM } from '../../nn/causal_lm.js';
import { responseBatch } from '../../text/response_batch.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import { encodePair } from '../../training/encode.js';
import { padId } from '../../training/trainer_parts.js';

/** The last hidden state [C] of each (prompt, output), encoded as the reward model was trained (EOS appended); in order. */
export async function rewardEmbeddings(
  model: CausalLM, tokenizer: Tokenizer, pairs: readonly { prompt: string; output: string }[], o: { batch_size: number },
): Promise<Float32Array[]> {
  const C = model.arch.hiddenSize;
  const maxLength = model.arch.maxPositions;
  const out: Float32Array[] = [];
  for (let i = 0; i < pairs.length; i += o.batch_size) {
    const chunk = pairs.slice(i, i + o.batch_size).map((p) => {
      const e = encodePair(tokenizer, p.prompt, p.output, { maxLength });
      return { prompt: e.prompt, response: e.completion };
    });
    model.forward(responseBatch(chunk, padId(tokenizer)).batch, { logits: false });
    const hidden = await model.backend.read(model.lastHidden());
    chunk.forEach((_, b) => out.push(hidden.slice(b * C, (b + 1) * C)));
  }
  return out;
}
