// When a generated sequence ends: at an EOS token, at the token that completes a stop
// string, or after max_new_tokens.
import type { Tokenizer } from './tokenizer.js';

export type FinishReason = 'eos' | 'stop' | 'length';

/** One sequence's tokens so far and, once it has ended, where and why. */
export class SequenceProgress {
  /** The tokens read so far; once finished, the ones kept (the ending token included). */
  readonly ids: number[] = [];
  reason: FinishReason | undefined;
  /** Text length already searched for stop strings. */
  #searched = 0;

  get finished(): boolean {
    return this.reason !== undefined;
  }

  /** Appends newly read tokens and looks for the end among them. */
  extend(tokens: ArrayLike<number>, c: StopCriteria): void {
    if (this.finished) return;
    for (let i = 0; i < tokens.length; i++) {
      this.ids.push(tokens[i]!);
      const k = this.ids.length;
      if (c.eos.has(tokens[i]!)) {
        this.#finish(k, 'eos');
        return;
      }
      if (c.stopStrings.length && c.tokenizer) {
        const text = c.tokenizer.decode(this.ids, { skipSpecialTokens: true });
        // A stop string found now ends inside the newest token's text.
        const from = Math.max(0, this.#searched - c.longestStop + 1);
        if (c.stopStrings.some((s) => text.indexOf(s, from) >= 0)) {
          this.#finish(k, 'stop');
          return;
        }
        this.#searched = text.length;
      }
    }
  }

  /** Marks the sequence as ended by running out of new tokens. */
  truncate(maxNewTokens: number): void {
    if (!this.finished) this.#finish(Math.min(this.ids.length, maxNewTokens), 'length');
  }

  #finish(end: number, reason: FinishReason): void {
    this.reason = reason;
    this.ids.length = end;
  }
}

export class StopCriteria {
  readonly longestStop: number;
  constructor(readonly eos: Set<number>, readonly stopStrings: string[], readonly tokenizer: Tokenizer | undefined) {
    this.longestStop = Math.max(0, ...stopStrings.map((s) => s.length));
  }

  /** The response text: special tokens left out, cut just after the first stop string. */
  text(ids: number[]): string {
    if (!this.tokenizer) return '';
    const text = this.tokenizer.decode(ids, { skipSpecialTokens: true });
    let cut = text.length;
    for (const s of this.stopStrings) {
      const at = text.indexOf(s);
      if (at >= 0) cut = Math.min(cut, at + s.length);
    }
    return text.slice(0, cut);
  }
}
