// deno run -A examples/deno/train_gpt.ts [auto|webgpu|wasm] — train a tiny GPT-2 on one
// sentence (byte tokens), save it as a Hugging Face model folder with its tokenizer, load it
// back and let it continue the sentence.
import { AdamW, CausalLM, byteTokenizer, createRuntime, generate, gptConfig, lmTrainStep, loadModel, loadTokenizer, saveModel, saveTokenizer, type BackendChoice } from 'webrlhf';

const rt = await createRuntime({ backend: (Deno.args[0] ?? 'auto') as BackendChoice });
const text = 'webrlhf trains GPT-2 where the user is: a web page, Deno, Node. ';
const tokenizer = byteTokenizer(); // ids 0..255 are the UTF-8 bytes
const ids = tokenizer.encode(text.repeat(2)).slice(0, 96);
const batch = { inputIds: [ids] };

const config = gptConfig({ vocab_size: tokenizer.vocabSize, n_positions: 96, n_embd: 64, n_layer: 2, n_head: 4 });
const model = CausalLM.create(rt.backend, config, { seed: 0 });
const optimizer = new AdamW(model, { lr: 1e-2, weight_decay: 0 });
const losses: number[] = [];
for (let step = 1; step <= 100; step++) {
  const { loss } = await lmTrainStep(model, optimizer, batch);
  losses.push(loss);
  if (step % 25 === 0) console.log(`step ${step}: loss ${loss.toFixed(4)}`);
}

// lmTrainStep reports the loss before its update; this is the loss of the trained weights.
model.forward(batch);
const [final] = await rt.backend.read(model.lmLoss());

const dir = await Deno.makeTempDir({ prefix: 'webrlhf-example-' });
await saveModel(model, dir); // config.json + model.safetensors, loadable by transformers
await saveTokenizer(tokenizer, dir); // tokenizer.json: `webrlhf generate --model DIR` reads it
const reloaded = await loadModel(rt.backend, dir);
reloaded.forward(batch);
const [again] = await rt.backend.read(reloaded.lmLoss());
const [sample] = await generate(reloaded, ['webrlhf trains'], { tokenizer: await loadTokenizer(dir), do_sample: false, max_new_tokens: 24 });
console.log(`greedy continuation of "webrlhf trains": ${JSON.stringify(sample!.text)}`);
console.log(`${rt.runtime} · ${rt.choice.chosen}: trained: loss ${losses[0]!.toFixed(3)} → ${final!.toFixed(3)}; reloaded from ${dir}: loss ${again!.toFixed(3)}`);
await Deno.remove(dir, { recursive: true });
rt.dispose();
