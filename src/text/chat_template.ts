// A model's chat template (tokenizer_config.json's chat_template, a Jinja template), rendered
// with @huggingface/jinja, the engine transformers.js uses, with the variables transformers'
// apply_chat_template passes: messages, add_generation_prompt, the special tokens by name
// (bos_token, eos_token, ...) and any extra ones (enable_thinking, tools, ...).
import { Template } from '@huggingface/jinja';
import { TokenizerError } from '../errors.js';

/** A chat message as templates read it: role and content, and whatever else a template uses (every field is passed). */
export interface ChatTemplateMessage {
  role: string;
  content: string;
  /** Qwen3's templates: the thinking that led to an assistant message. */
  reasoning_content?: string;
  tool_calls?: unknown[];
}

export interface ChatRenderOptions {
  /** End with the header that asks the assistant to answer (transformers' add_generation_prompt). Default false. */
  addGenerationPrompt?: boolean;
  /** More template variables, as keyword arguments to apply_chat_template: { enable_thinking: false }, { tools: [...] }. */
  variables?: Record<string, unknown>;
}

/** Where assistant message `message` is in a rendered conversation: text.slice(start, end) is what the model writes. */
export interface AssistantSpan {
  message: number;
  start: number;
  end: number;
}

/** The special tokens a template may name, as tokenizer_config.json gives them. */
const SPECIAL_TOKEN_NAMES = ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const;

export class ChatTemplate {
  /** The Jinja source. */
  readonly source: string;
  /** bos_token, eos_token, unk_token, pad_token (those the tokenizer has), passed to every render. */
  readonly specialTokens: Readonly<Record<string, string>>;
  private readonly template: Template;
  private readonly where: { file: string; field: string };

  /** Parses `source`; a template that is not Jinja is a TokenizerError naming `where`. */
  constructor(source: string, specialTokens: Record<string, string | null | undefined> = {}, where = { file: 'tokenizer_config.json', field: 'chat_template' }) {
    this.where = where;
    if (typeof source !== 'string') throw this.fail(`is ${describe(source)}, but a chat template is a Jinja string`);
    this.source = source;
    this.specialTokens = Object.fromEntries(Object.entries(specialTokens).filter((e): e is [string, string] => typeof e[1] === 'string'));
    try {
      this.template = new Template(source);
    } catch (e) {
      throw this.fail(`is not a template @huggingface/jinja can parse: ${message(e)}`, e);
    }
  }

  /**
   * The chat template of a tokenizer_config.json (or chat_template.json) object, undefined when
   * it has none. `chat_template` is a string, or a list of {name, template}, from which `name`
   * (default "default") is taken, as transformers does.
   */
  static fromConfig(config: Record<string, unknown>, options: { name?: string; file?: string } = {}): ChatTemplate | undefined {
    const file = options.file ?? 'tokenizer_config.json';
    const raw = config.chat_template;
    if (raw === undefined || raw === null) return undefined;
    const specials: Record<string, string | undefined> = {};
    for (const key of SPECIAL_TOKEN_NAMES) specials[key] = tokenContent(config[key]);
    if (typeof raw === 'string') return new ChatTemplate(raw, specials, { file, field: 'chat_template' });
    const named = Array.isArray(raw)
      ? raw.map((t, i) => {
          if (typeof t !== 'object' || t === null || typeof t.name !== 'string' || typeof t.template !== 'string') {
            throw new TokenizerError(`${file}, chat_template[${i}]: is ${describe(t)}, but a named template is {"name": "...", "template": "..."}`, { file, field: `chat_template[${i}]` });
          }
          return [t.name as string, t.template as string] as const;
        })
      : typeof raw === 'object'
        ? Object.entries(raw as Record<string, unknown>)
        : undefined;
    if (!named) throw new TokenizerError(`${file}, chat_template: is ${describe(raw)}, but it is a Jinja string or a list of {"name", "template"}`, { file, field: 'chat_template' });
    const name = options.name ?? 'default';
    const found = named.find(([n]) => n === name);
    if (!found) {
      throw new TokenizerError(`${file}, chat_template: there is no template named "${name}"; the file has ${named.map(([n]) => `"${n}"`).join(', ')}: pass one of them as the name`, { file, field: 'chat_template' });
    }
    return new ChatTemplate(found[1] as string, specials, { file, field: `chat_template "${name}"` });
  }

  /** The conversation as the model reads it (transformers' apply_chat_template(..., tokenize=False)). */
  render(messages: readonly ChatTemplateMessage[], options: ChatRenderOptions = {}): string {
    if (!Array.isArray(messages)) throw this.fail(`cannot render ${describe(messages)}: messages are a list of {role, content}`);
    try {
      return this.template.render({
        ...this.specialTokens,
        ...options.variables,
        messages,
        add_generation_prompt: options.addGenerationPrompt ?? false,
      });
    } catch (e) {
      throw this.fail(`failed to render a conversation of ${messages.length} message(s) (roles ${messages.map((m) => m?.role).join(', ')}): ${message(e)}`, e);
    }
  }

  /**
   * The rendered conversation and where each assistant message is in it (for a loss on the
   * assistant's text only). A span starts where the conversation and its generation prompt for
   * that message (the messages before it, rendered with add_generation_prompt) part: where the
   * prompt ends, or earlier when the template prompts otherwise than it renders history (Qwen3
   * with enable_thinking false prompts with an empty think block). It ends after the template's
   * end of that turn: the EOS token when the template writes it there, else all the template
   * writes for the turn. Throws TokenizerError when even the messages before it render
   * differently in the conversation.
   */
  assistantSpans(messages: readonly ChatTemplateMessage[], options: Omit<ChatRenderOptions, 'addGenerationPrompt'> = {}): { text: string; spans: AssistantSpan[] } {
    const text = this.render(messages, options);
    const eos = this.specialTokens.eos_token;
    const spans: AssistantSpan[] = [];
    messages.forEach((m, i) => {
      if (m.role !== 'assistant') return;
      const prompt = this.render(messages.slice(0, i), { ...options, addGenerationPrompt: true });
      let start = 0;
      while (start < prompt.length && prompt[start] === text[start]) start++;
      const before = i === 0 ? '' : this.render(messages.slice(0, i), options);
      if (!text.startsWith(before) || start < before.length) {
        throw this.fail(`renders the messages before message ${i} (the assistant's) otherwise when the conversation goes on, so the assistant's text cannot be located: ` +
          `they end ${JSON.stringify(before.slice(-40))}`);
      }
      // The turn as the template ends it when it is the last message, if the whole conversation agrees.
      const upTo = this.render(messages.slice(0, i + 1), options);
      let end = text.startsWith(upTo) && upTo.length > start ? upTo.length : -1;
      const at = eos ? text.indexOf(eos, start) : -1;
      if (at >= 0 && (end < 0 || at + eos!.length <= end)) end = at + eos!.length;
      if (end < 0) throw this.fail(`renders assistant message ${i} so that neither its end of turn nor the EOS token (${JSON.stringify(eos)}) can be found`);
      spans.push({ message: i, start, end });
    });
    return { text, spans };
  }

  private fail(problem: string, cause?: unknown): TokenizerError {
    return new TokenizerError(`${this.where.file}, ${this.where.field}: ${problem}`, this.where, cause === undefined ? undefined : { cause });
  }
}

/** A special token as tokenizer_config.json writes it: a string, or {"content": ...}. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const describe = (v: unknown) => (Array.isArray(v) ? 'an array' : v === null ? 'null' : `${typeof v} ${JSON.stringify(v)?.slice(0, 60)}`);
