// Datasets for the trainers, from JSONL (streamed) or from arrays already in memory. A bad
// line stops the load with an error naming the file, line and field, unless skip_bad_lines
// is set: then it is skipped and counted, never dropped silently.
import { ConfigError, DatasetError } from '../errors.js';
import { jsonlSourceName, readJsonlLines, type JsonlReadOptions, type JsonlSource } from './jsonl.js';
import {
  preferenceRecord, problemRecord, promptRecord, rewriteRecord, sftRecord,
  type PreferenceRecord, type ProblemRecord, type PromptRecord, type RecordSite, type RewriteRecord, type SFTRecord,
} from './records.js';
import type { ChatTemplate } from '../text/chat_template.js';

/** How many skipped lines' errors a dataset keeps to show (the count covers them all). */
export const SKIPPED_ERRORS_KEPT = 10;

export interface DatasetOptions {
  /** Skip lines (or array records) that are not JSON or lack a field, and count them, instead of throwing. */
  skip_bad_lines?: boolean;
  /** Stop after this many records (the rest of the file is not read). */
  limit?: number;
  /** Render conversational records with this template (the tokenizer's: `tokenizer.chatTemplate`) instead of the built-in one. */
  chatTemplate?: ChatTemplate | undefined;
}

export interface LoadDatasetOptions extends DatasetOptions, Pick<JsonlReadOptions, 'fetch' | 'init'> {}

export interface ArrayDatasetOptions extends DatasetOptions {
  /** Names the array in messages ("records[3]: ..."); default "records". */
  name?: string;
}

export interface Dataset<R> {
  /** The file, URL or array name, as messages name it. */
  name: string;
  records: R[];
  /** Lines (or records) skipped under skip_bad_lines. */
  skipped: number;
  /** The errors of the first SKIPPED_ERRORS_KEPT skipped lines, each naming its line and field. */
  skippedErrors: DatasetError[];
}

export interface PreferenceDataset extends Dataset<PreferenceRecord> {
  /** Pairs whose chosen and rejected texts are the same: kept, but they teach no preference (see dropIdenticalPairs). */
  identical: number;
}

type Validate<R> = (value: unknown, site: RecordSite) => R;

/** Collects records and the lines skipped on the way. */
class Collector<R> {
  readonly records: R[] = [];
  skipped = 0;
  readonly skippedErrors: DatasetError[] = [];
  readonly limit: number;

  /** "line" for files, "record" for arrays. */
  constructor(readonly name: string, readonly unit: 'line' | 'record', readonly options: DatasetOptions) {
    const limit = options.limit ?? Infinity;
    if (limit !== Infinity && !(Number.isInteger(limit) && limit >= 0)) {
      throw new ConfigError(`limit must be an integer ≥ 0 (the number of records to read), got ${String(limit)}`);
    }
    this.limit = limit;
  }

  get full(): boolean {
    return this.records.length >= this.limit;
  }

  /** Counts a bad record skipped under skip_bad_lines (the first few errors are kept for the report). */
  recordSkipped = (error: DatasetError): void => {
    this.skipped++;
    if (this.skippedErrors.length < SKIPPED_ERRORS_KEPT) this.skippedErrors.push(error);
  };

  /** Validates one value; a DatasetError is skipped under skip_bad_lines, else thrown. */
  add(validate: Validate<R>, value: unknown, site: RecordSite): void {
    try {
      this.records.push(validate(value, site));
    } catch (e) {
      if (!(this.options.skip_bad_lines && e instanceof DatasetError)) throw e;
      this.recordSkipped(e);
    }
  }

  /** The dataset; one with no records is an error, unless limit 0 asked for none. */
  finish(empty: string): Dataset<R> {
    if (this.records.length === 0 && this.limit !== 0) {
      const why = this.skipped
        ? `${this.skipped === 1 ? `its one ${this.unit} was` : `all ${this.skipped} ${this.unit}s were`} bad and skipped (first: ${this.skippedErrors[0]!.message})`
        : empty;
      throw new DatasetError(`${this.name}: no records: ${why}`, { file: this.name });
    }
    return { name: this.name, records: this.records, skipped: this.skipped, skippedErrors: this.skippedErrors };
  }
}

async function loadJsonl<R>(source: JsonlSource, validate: Validate<R>, options: LoadDatasetOptions): Promise<Dataset<R>> {
  const name = jsonlSourceName(source);
  const out = new Collector<R>(name, 'line', options);
  if (!out.full) {
    const lines = readJsonlLines(source, { ...options, onBadLine: out.recordSkipped });
    for await (const { line, value } of lines) {
      out.add(validate, value, { file: name, line });
      if (out.full) break; // closes the file
    }
  }
  return out.finish('the file has no lines with a record');
}

function fromArray<R>(values: readonly unknown[], validate: Validate<R>, options: ArrayDatasetOptions): Dataset<R> {
  const name = options.name ?? 'records';
  if (!Array.isArray(values)) throw new ConfigError(`${name}: expected an array of records, got ${Object.prototype.toString.call(values)}`);
  const out = new Collector<R>(name, 'record', options);
  for (let index = 0; index < values.length && !out.full; index++) out.add(validate, values[index], { file: name, index });
  return out.finish('the array is empty');
}

function withIdentical(dataset: Dataset<PreferenceRecord>): PreferenceDataset {
  return { ...dataset, identical: dataset.records.filter((r) => r.chosen === r.rejected).length };
}

/** An SFT dataset from JSONL: `{prompt, completion}`, `{messages}` or `{text}` per line (see sftRecord). */
export function loadSFTDataset(source: JsonlSource, options: LoadDatasetOptions = {}): Promise<Dataset<SFTRecord>> {
  return loadJsonl(source, (v, site) => sftRecord(v, site, options.chatTemplate), options);
}

/** A preference dataset from JSONL: `{prompt, chosen, rejected}` per line. */
export async function loadPreferenceDataset(source: JsonlSource, options: LoadDatasetOptions = {}): Promise<PreferenceDataset> {
  return withIdentical(await loadJsonl(source, (v, site) => preferenceRecord(v, site, options.chatTemplate), options));
}

/** A prompt dataset from JSONL: `{prompt}` per line. */
export function loadPromptDataset(source: JsonlSource, options: LoadDatasetOptions = {}): Promise<Dataset<PromptRecord>> {
  return loadJsonl(source, (v, site) => promptRecord(v, site, options.chatTemplate), options);
}

/** A problem dataset from JSONL (RLMEC): `{question, solution, answer}` per line. */
export function loadProblemDataset(source: JsonlSource, options: LoadDatasetOptions = {}): Promise<Dataset<ProblemRecord>> {
  return loadJsonl(source, problemRecord, options);
}

/** A rewrite dataset from JSONL (RLMEC's teacher data): `{question, prediction, rewrite}` per line. */
export function loadRewriteDataset(source: JsonlSource, options: LoadDatasetOptions = {}): Promise<Dataset<RewriteRecord>> {
  return loadJsonl(source, rewriteRecord, options);
}

/** An SFT dataset from records in memory, checked as lines of a file are. */
export function sftDataset(records: readonly unknown[], options: ArrayDatasetOptions = {}): Dataset<SFTRecord> {
  return fromArray(records, (v, site) => sftRecord(v, site, options.chatTemplate), options);
}

/** A preference dataset from records in memory. */
export function preferenceDataset(records: readonly unknown[], options: ArrayDatasetOptions = {}): PreferenceDataset {
  return withIdentical(fromArray(records, (v, site) => preferenceRecord(v, site, options.chatTemplate), options));
}

/** A prompt dataset from records in memory (objects `{prompt}`, or plain strings). */
export function promptDataset(records: readonly unknown[], options: ArrayDatasetOptions = {}): Dataset<PromptRecord> {
  return fromArray(records, (v, site) => promptRecord(typeof v === 'string' ? { prompt: v } : v, site, options.chatTemplate), options);
}

/** A problem dataset from records in memory. */
export function problemDataset(records: readonly unknown[], options: ArrayDatasetOptions = {}): Dataset<ProblemRecord> {
  return fromArray(records, problemRecord, options);
}

/** A rewrite dataset from records in memory. */
export function rewriteDataset(records: readonly unknown[], options: ArrayDatasetOptions = {}): Dataset<RewriteRecord> {
  return fromArray(records, rewriteRecord, options);
}

/**
 * The pairs whose chosen and rejected differ, and how many were dropped. Trainers call it
 * under `drop_identical` (on by default) and report the count: an identical pair has a
 * Bradley–Terry / DPO loss of log 2 whatever the model, and only dilutes the batch.
 */
export function dropIdenticalPairs(records: readonly PreferenceRecord[]): { records: PreferenceRecord[]; dropped: number } {
  const kept = records.filter((r) => r.chosen !== r.rejected);
  return { records: kept, dropped: records.length - kept.length };
}

/** A preference record that could not be used: its position, the field at fault (null when the record is not an object) and why. */
export interface BadPreferenceField {
  index: number;
  field: string | null;
  message: string;
}

export interface PreferenceAudit {
  /** The usable pairs, normalised as preferenceRecord does (conversations rendered to strings). */
  records: PreferenceRecord[];
  /** Pairs whose chosen and rejected are the same text (left out: they teach no preference). */
  identical: number;
  /** Records with a field missing or of the wrong kind (left out), the first bad field of each. */
  missingField: BadPreferenceField[];
}

/**
 * Preference pairs from any source (a pipeline's synthetic pairs, records from a program)
 * checked before training: bad records and identical pairs are left out and reported, never
 * trained on in silence. Unlike preferenceDataset it does not stop at the first bad record,
 * keeps every problem, and allows an empty result (the caller decides what that means).
 */
export function auditPreferences(records: readonly unknown[], name = 'records'): PreferenceAudit {
  const valid: PreferenceRecord[] = [];
  const missingField: BadPreferenceField[] = [];
  records.forEach((value, index) => {
    try {
      valid.push(preferenceRecord(value, { file: name, index }));
    } catch (e) {
      if (!(e instanceof DatasetError)) throw e;
      missingField.push({ index, field: e.field ?? null, message: e.message });
    }
  });
  const distinct = dropIdenticalPairs(valid);
  return { records: distinct.records, identical: distinct.dropped, missingField };
}

/**
 * One line for logs about what skip_bad_lines skipped, or undefined when nothing was:
 * "train.jsonl: skipped 3 bad lines (line 7: not valid JSON (...); ...)".
 */
export function describeSkipped(dataset: Dataset<unknown>): string | undefined {
  if (!dataset.skipped) return undefined;
  const prefix = `${dataset.name} `;
  const shown = dataset.skippedErrors.map((e) => (e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message));
  const more = dataset.skipped > shown.length ? `; and ${dataset.skipped - shown.length} more` : '';
  const unit = dataset.skippedErrors[0]?.line !== undefined ? 'line' : 'record';
  return `${dataset.name}: skipped ${dataset.skipped} bad ${unit}${dataset.skipped === 1 ? '' : 's'} (${shown.join('; ')}${more})`;
}
