// The tokenizers of test/fixtures/tokenizers/ (made by Python `tokenizers` and `transformers`,
// test/fixtures/make_tokenizer_fixtures.py) against what the Python libraries made of them: ids,
// decoded text, UTF-8 cuts, added-token flags, decoders, chat templates.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ChatTemplate, DatasetError, HFTokenizer, TokenizerError, loadTokenizer, parseTokenizer, preferenceDataset, promptDataset, renderChatPrompt, sftDataset,
  splitChat, tokenizerFiles, type ChatTemplateMessage,
} from 'webrlhf';
import { resolveFolderSource } from '../src/io/model_folder.js';
import { platform } from '../src/runtime/platform.js';

const test = suite('hf_tokenizers');

const KINDS = ['gpt2', 'smollm2', 'qwen2.5', 'qwen3', 'llama', 'llama-legacy'] as const;
type Kind = (typeof KINDS)[number];

interface ChatCase {
  name: string;
  messages: ChatTemplateMessage[];
  add_generation_prompt: boolean;
  variables: Record<string, unknown>;
  text: string;
}

interface Expected {
  cases: { text: string; ids: number[]; decoded: string; decoded_skip_special: string }[];
  utf8_cuts: { ids: number[]; text: string }[];
  added_token_variants?: { added_tokens: object[]; cases: { text: string; ids: number[] }[] }[];
  decoder_variants?: { decoder: object; cases: { ids: number[]; text: string }[] }[];
  chat?: ChatCase[];
}

// Node and Deno read the directory; a browser fetches the same files from the test server.
const folder = (kind: Kind) => (platform().fs ? `test/fixtures/tokenizers/${kind}` : `/test/fixtures/tokenizers/${kind}`);

const loaded = new Map<Kind, Promise<{ tokenizer: HFTokenizer; expected: Expected; files: Record<string, Uint8Array> }>>();

function fixture(kind: Kind) {
  let p = loaded.get(kind);
  if (!p) {
    p = (async () => {
      const source = resolveFolderSource(folder(kind));
      const files: Record<string, Uint8Array> = {};
      for (const name of ['tokenizer.json', 'tokenizer_config.json', 'expected.json']) files[name] = (await source.read(name))!;
      const expected = JSON.parse(new TextDecoder().decode(files['expected.json'])) as Expected;
      return { tokenizer: await loadTokenizer(folder(kind)), expected, files };
    })();
    loaded.set(kind, p);
  }
  return p;
}

const json = (bytes: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(bytes));

for (const kind of KINDS) {
  test(`${kind}: the ids, decoded text and UTF-8 cuts of Python tokenizers, on ${kind === 'gpt2' ? 'its' : 'the same'} corpus`, async () => {
    const { tokenizer, expected } = await fixture(kind);
    for (const c of expected.cases) {
      const ids = tokenizer.encode(c.text);
      assert.equal(ids, c.ids, `encode ${JSON.stringify(c.text)}`);
      assert.is(tokenizer.decode(c.ids), c.decoded, `decode ${JSON.stringify(c.text)}`);
      assert.is(tokenizer.decode(c.ids, { skipSpecialTokens: true }), c.decoded_skip_special, `decode (skip special) ${JSON.stringify(c.text)}`);
    }
    for (const c of expected.utf8_cuts) assert.is(tokenizer.decode(c.ids), c.text, `decode ${JSON.stringify(c.ids)}`);
    assert.ok(expected.cases.length > 200);
  });
}

test('decode(encode(s)): exactly s for the byte-level kinds, NFC(s) for Qwen, what Python decodes for Llama (which loses spaces)', async () => {
  for (const kind of KINDS) {
    const { tokenizer, expected } = await fixture(kind);
    let exact = 0;
    for (const { text } of expected.cases) {
      const back = tokenizer.decode(tokenizer.encode(text));
      if (kind === 'gpt2' || kind === 'smollm2') assert.is(back, text, `${kind}: ${JSON.stringify(text)}`);
      else if (kind.startsWith('qwen')) assert.is(back, text.normalize('NFC'), `${kind}: ${JSON.stringify(text)}`);
      if (back === text) exact++;
    }
    // Llama loses a leading space, turns "▁" into a space, and (legacy) adds one after added tokens.
    if (kind.startsWith('llama')) assert.ok(exact > expected.cases.length * 0.75, `${kind}: ${exact} of ${expected.cases.length}`);
  }
});

test('special tokens from tokenizer_config.json: BOS, EOS and PAD ids, and the ids Python gives them in text', async () => {
  const ids = async (kind: Kind) => {
    const t = (await fixture(kind)).tokenizer;
    return [t.bosTokenId, t.eosTokenId, t.padTokenId];
  };
  const g = (await fixture('gpt2')).tokenizer;
  assert.equal(await ids('gpt2'), [g.vocabSize - 1, g.vocabSize - 1, undefined]);
  assert.equal(await ids('smollm2'), [1, 2, 2]);
  const q = (await fixture('qwen2.5')).tokenizer;
  assert.equal(await ids('qwen2.5'), [undefined, q.tokenToId('<|im_end|>'), q.tokenToId('<|endoftext|>')]);
  assert.equal(await ids('llama'), [1, 2, undefined]);
  assert.is(q.idToToken(q.tokenToId('<tool_call>')!), '<tool_call>');
  assert.ok(q.isSpecial(q.tokenToId('<|im_start|>')!));
  assert.not.ok(q.isSpecial(q.tokenToId('<tool_call>')!)); // an added token, not a special one: kept by skipSpecialTokens
  const l = (await fixture('llama')).tokenizer;
  assert.is(l.idToToken(3), '<0x00>');
  assert.is(l.encode('').length, 0);
  assert.is(l.decode([]), '');
});

test('added tokens with single_word, lstrip and rstrip (spliced into the GPT-2 fixture) match as in Python', async () => {
  const { expected, files } = await fixture('gpt2');
  for (const variant of expected.added_token_variants!) {
    const file = json(files['tokenizer.json']);
    file.added_tokens.push(...variant.added_tokens);
    const t = parseTokenizer({ 'tokenizer.json': file });
    for (const c of variant.cases) assert.equal(t.encode(c.text), c.ids, `${JSON.stringify(variant.added_tokens)}: ${JSON.stringify(c.text)}`);
  }
});

test('Metaspace decoders (prepend_scheme always, first, never; split true, false) decode as in Python', async () => {
  const { expected, files } = await fixture('llama');
  for (const variant of expected.decoder_variants!) {
    const t = parseTokenizer({ 'tokenizer.json': { ...json(files['tokenizer.json']), decoder: variant.decoder } });
    for (const c of variant.cases) assert.is(t.decode(c.ids), c.text, `${JSON.stringify(variant.decoder)}: ${JSON.stringify(c.ids)}`);
  }
});

for (const kind of ['smollm2', 'qwen2.5', 'qwen3', 'llama'] as const) {
  test(`${kind}: the chat template renders as transformers' apply_chat_template; the list-of-named-templates form takes "default"`, async () => {
    const { tokenizer, expected, files } = await fixture(kind);
    const template = tokenizer.chatTemplate!;
    assert.ok(template instanceof ChatTemplate);
    for (const c of expected.chat!) {
      assert.is(template.render(c.messages, { addGenerationPrompt: c.add_generation_prompt, variables: c.variables }), c.text, `${c.name} ${JSON.stringify(c.variables)}`);
    }
    const config = json(files['tokenizer_config.json']);
    const named = parseTokenizer({
      'tokenizer.json': files['tokenizer.json']!,
      'tokenizer_config.json': { ...config, chat_template: [{ name: 'tool_use', template: 'TOOLS' }, { name: 'default', template: config.chat_template }] },
    });
    const first = expected.chat![0]!;
    assert.is(named.chatTemplate!.render(first.messages, { addGenerationPrompt: first.add_generation_prompt }), first.text);
    // chat_template.jinja, as transformers 5 saves it, wins over tokenizer_config.json's.
    const jinja = parseTokenizer({ 'tokenizer.json': files['tokenizer.json']!, 'tokenizer_config.json': config, 'chat_template.jinja': '{{ bos_token }}|{{ eos_token }}' });
    assert.is(jinja.chatTemplate!.render([]), `${config.bos_token ?? ''}|${config.eos_token}`);
  });

  test(`${kind}: assistantSpans starts each assistant message where its generation prompt ends and ends it after the EOS`, async () => {
    const { tokenizer, expected } = await fixture(kind);
    const template = tokenizer.chatTemplate!;
    const eos = tokenizer.idToToken(tokenizer.eosTokenId!)!;
    for (const c of expected.chat!.filter((c) => !c.add_generation_prompt && c.messages.some((m) => m.role === 'assistant'))) {
      const { text, spans } = template.assistantSpans(c.messages, { variables: c.variables });
      assert.is(text, c.text);
      const assistants = c.messages.flatMap((m, i) => (m.role === 'assistant' ? [i] : []));
      assert.equal(spans.map((s) => s.message), assistants);
      for (const span of spans) {
        const prompt = expected.chat!.find((p) => p.name === `${c.name}, before message ${span.message}` && JSON.stringify(p.variables) === JSON.stringify(c.variables))!;
        // Where the conversation and the generation prompt part: the prompt's end, but for Qwen3's empty think block.
        let parted = 0;
        while (parted < prompt.text.length && prompt.text[parted] === text[parted]) parted++;
        assert.is(span.start, parted, `${c.name}: message ${span.message}`);
        if (!(kind === 'qwen3' && c.variables.enable_thinking === false)) assert.is(parted, prompt.text.length);
        const written = text.slice(span.start, span.end);
        assert.ok(written.endsWith(eos), `${c.name}: ${JSON.stringify(written)}`);
        const content = c.messages[span.message]!.content;
        const answer = content.includes('</think>') ? content.split('</think>').at(-1)!.trimStart() : content;
        assert.ok(written.includes(answer), `${c.name}: ${JSON.stringify(written)} lacks ${JSON.stringify(answer)}`);
      }
    }
  });
}

test('chat templates: a template that refuses the conversation, or is not Jinja, is a TokenizerError naming the problem', async () => {
  const template = (await fixture('llama')).tokenizer.chatTemplate!;
  const user = { role: 'user', content: 'Hi' };
  assert.is(template.render([user]), '<s>[INST] Hi [/INST]');
  const error = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e;
    }
    return undefined;
  };
  const refused = error(() => template.render([user, user]));
  assert.ok(refused instanceof TokenizerError);
  assert.match((refused as TokenizerError).message, /tokenizer_config\.json, chat_template: failed to render .*Conversation roles must alternate/);
  assert.is((refused as TokenizerError).field, 'chat_template');
  const system = error(() => template.render([{ role: 'system', content: 'x' }, user]));
  assert.match((system as Error).message, /Only user and assistant roles are supported!|roles must alternate/);
  const bad = error(() => new ChatTemplate('{% for m in messages %}{{ m.content }'));
  assert.ok(bad instanceof TokenizerError);
  assert.match((bad as Error).message, /chat_template: is not a template @huggingface\/jinja can parse/);
  const missing = error(() => ChatTemplate.fromConfig({ chat_template: [{ name: 'tool_use', template: 'x' }] }));
  assert.match((missing as Error).message, /no template named "default"; the file has "tool_use"/);
});

test("conversational records use the tokenizer's chat template (the built-in one without): SFT's completion is the assistant's text up to the EOS", async () => {
  const qwen = (await fixture('qwen2.5')).tokenizer;
  const template = qwen.chatTemplate!;
  const system = { role: 'system' as const, content: 'Be brief.' };
  const user = { role: 'user' as const, content: 'Hi?' };
  const assistant = { role: 'assistant' as const, content: 'Hello.' };
  const header = '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n';
  assert.equal(splitChat([system, user, assistant], template), { prompt: header, completion: 'Hello.' });
  assert.is(renderChatPrompt([system, user], template), header);
  assert.equal(splitChat([system, user, assistant]), { prompt: '<|system|>\nBe brief.\n<|user|>\nHi?\n<|assistant|>\n', completion: 'Hello.' });
  const sft = sftDataset([{ messages: [system, user, assistant] }, { prompt: [user], completion: [assistant] }], { chatTemplate: template });
  assert.equal(sft.records[0], { prompt: header, completion: 'Hello.', messages: [system, user, assistant] });
  assert.ok(sft.records[1]!.prompt.endsWith('<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n'));
  assert.is(sft.records[1]!.completion, 'Hello.');
  const pairs = preferenceDataset([{ prompt: [system, user], chosen: [assistant], rejected: 'No.' }], { chatTemplate: template });
  assert.equal(pairs.records[0], { prompt: header, chosen: 'Hello.', rejected: 'No.' });
  assert.is(promptDataset([{ prompt: [system, user] }], { chatTemplate: template }).records[0]!.prompt, header);
  // Encoded, the completion ends with the EOS the trainers append: <|im_end|>, as the model writes it.
  assert.equal(qwen.encode(header + 'Hello.<|im_end|>').slice(-1), [qwen.eosTokenId]);

  // A conversation the template refuses is a bad record, skipped and counted under skip_bad_lines.
  const mistral = (await fixture('llama')).tokenizer.chatTemplate!;
  const records = [{ messages: [user, assistant] }, { messages: [user, user, assistant] }];
  const kept = sftDataset(records, { chatTemplate: mistral, skip_bad_lines: true });
  assert.equal(kept.records, [{ prompt: '<s>[INST] Hi? [/INST]', completion: 'Hello.', messages: [user, assistant] }]);
  assert.is(kept.skipped, 1);
  assert.ok(kept.skippedErrors[0] instanceof DatasetError);
  assert.match(kept.skippedErrors[0]!.message, /records\[1\]: field "messages" cannot be rendered: .*Conversation roles must alternate/);
});

test('save → load: every kind writes files that load to the same ids, special tokens and chat template', async () => {
  for (const kind of KINDS) {
    const { tokenizer, expected } = await fixture(kind);
    const files = tokenizerFiles(tokenizer);
    const config = json(files['tokenizer_config.json']);
    assert.is(config.tokenizer_class, 'PreTrainedTokenizerFast');
    const again = parseTokenizer(files);
    assert.equal([again.vocabSize, again.bosTokenId, again.eosTokenId, again.padTokenId], [tokenizer.vocabSize, tokenizer.bosTokenId, tokenizer.eosTokenId, tokenizer.padTokenId]);
    for (const c of expected.cases) assert.equal(again.encode(c.text), c.ids, `${kind}: ${JSON.stringify(c.text)}`);
    assert.is(again.chatTemplate?.source, tokenizer.chatTemplate?.source);
  }
});

test.run();
