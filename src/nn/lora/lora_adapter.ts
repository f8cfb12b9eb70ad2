// A LoRA adapter: for each adapted linear map y = x·W (+ b), a trainable pair A [r, in],
// B [out, r] that adds s·B·A·x, s = lora_alpha/r (or /√r); W stays frozen. Its tensors, with
// the heads and modules it trains in full, are one ParameterStore: AdamW, checkpoints and
// gradient files see the adapter alone.
import type { Backend, Tensor } from '../../backend/backend.js';
import { ConfigError, TensorStateError } from '../../errors.js';
import { matmul } from '../../ops/core.js';
import { dropout } from '../../ops/dropout.js';
import type { Architecture } from '../architecture.js';
import type { DecoderRefs, LinearRef } from '../decoder_tensors.js';
import { uniformSampler, normalSampler } from '../init.js';
import { HEAD_TENSORS, packParameters, type HeadOptions, type TensorInit } from '../layout.js';
import { initialValues, ParameterStore } from '../parameter_store.js';
import { loraScaling, type LoraConfig } from './lora_config.js';
import { loraTargets, moduleMatches, transformersName, type LoraTarget } from './lora_targets.js';

/** A low-rank update on some linear maps: what linear() and linearBackward() add (see linear.ts). */
export interface LowRankUpdate {
  /** out += the update's share of x·W for this map (nothing when the map is not adapted). */
  forward(x: Tensor, ref: LinearRef, out: Tensor): void;
  /** Adds the update's gradients (A, B) and its share of ∂L/∂x into dx, for ∂L/∂y = dy. */
  backward(x: Tensor, dy: Tensor, ref: LinearRef, dx: Tensor): void;
}

/** One adapted map's tensors in the adapter's store. */
export interface LoraPair extends LoraTarget {
  a: string;
  b: string;
}

export { HEAD_TENSORS };

/**
 * The tensors of a head an adapter trains. A SEQ_CLS adapter's score head is transformers'
 * classifier, which has no bias: PEFT would drop one (a Bradley–Terry loss never moves it).
 */
export function headTensors(head: keyof HeadOptions, task: LoraConfig['task_type']): readonly string[] {
  return head === 'score' && task === 'SEQ_CLS' ? [HEAD_TENSORS.score[0]] : HEAD_TENSORS[head];
}

export interface LoraAdapterOptions {
  /** Heads the adapter trains (a reward model's score, a value model's v_head). */
  heads?: HeadOptions;
  /** Seed of A's (and with init_lora_weights false, B's) initial values. */
  seed?: number;
  /**
   * Initial values of tensors the adapter trains in full (heads, modules_to_save): the base's
   * own, when it has them; undefined starts a head at zero.
   */
  initial?: (name: string) => Float32Array | undefined;
  /** The adapter's values by store name (an adapter loaded from a file, or copied): all of them. */
  values?: ReadonlyMap<string, Float32Array>;
}

/**
 * The shapes of one adapter: its pairs, the base tensors it trains in full, and the store
 * layout. Shared by create() and loading, which must agree on names.
 */
export function adapterPlan(arch: Architecture, refs: DecoderRefs, config: LoraConfig, heads: HeadOptions = {}, baseNames: readonly string[] = []) {
  const pairs: LoraPair[] = loraTargets(arch, refs, config).map((t) => ({ ...t, a: `${t.module}.lora_A.weight`, b: `${t.module}.lora_B.weight` }));
  const headNames = (Object.keys(HEAD_TENSORS) as (keyof HeadOptions)[]).filter((h) => heads[h]).flatMap((h) => headTensors(h, config.task_type));
  const saved = [...headNames];
  const moduleOf = (name: string) => transformersName(arch, name).replace(/\.(weight|bias)$/, '');
  for (const entry of config.modules_to_save ?? []) {
    if (arch.tiedHead && moduleMatches([entry], 'lm_head')) {
      throw new ConfigError('modules_to_save: lm_head is tied to the token embedding in this model; train the embedding itself (modules_to_save ["embed_tokens"] or ["wte"]), which is the head too');
    }
    const named = (Object.keys(HEAD_TENSORS) as (keyof HeadOptions)[]).find((h) => moduleMatches([entry], moduleOf(HEAD_TENSORS[h][0])));
    const head = named && headTensors(named, config.task_type);
    const names = head ?? baseNames.filter((n) => moduleMatches([entry], moduleOf(n)));
    if (names.length === 0) throw new ConfigError(`modules_to_save: no module of this ${arch.className} is named ${entry} or ends in .${entry}`);
    for (const n of names) if (!saved.includes(n)) saved.push(n);
  }
  return { pairs, saved };
}

/**
 * The adapter of one model role. Disabled, it adds nothing (the base model). Training draws
 * lora_dropout's mask from a counter the forward advances, so the backward redraws the same.
 */
export class LoraAdapter implements LowRankUpdate {
  readonly config: LoraConfig;
  readonly scaling: number;
  readonly store: ParameterStore;
  /** Adapted maps by the base weight's name. */
  readonly pairs: ReadonlyMap<string, LoraPair>;
  /** Tensors trained in full (heads, modules_to_save), by the base's names. */
  readonly saved: readonly string[];
  enabled = true;
  /** Whether forwards drop out the adapted maps' inputs (lora_dropout > 0 and training). */
  training = true;
  readonly #backend: Backend;
  #scratch: { n: number; h: Tensor; dh: Tensor; x: Tensor | undefined } | undefined;
  /** Counter of the forward whose dropout mask the next backward must redraw (undefined: no dropout). */
  #dropoutOffset: number | undefined;
  #forwards = 0;
  #seed: number;
  /** Each pair's place in the adapter (its dropout stream) and the widest adapted input, found once. */
  readonly #index: Map<LoraPair, number>;
  readonly #maxIn: number;

  private constructor(backend: Backend, config: LoraConfig, store: ParameterStore, pairs: LoraPair[], saved: string[], seed: number) {
    this.#backend = backend;
    this.config = config;
    this.scaling = loraScaling(config);
    this.store = store;
    this.pairs = new Map(pairs.map((p) => [p.ref.weight, p]));
    this.saved = saved;
    this.#seed = seed;
    this.#index = new Map(pairs.map((p, i) => [p, i]));
    this.#maxIn = Math.max(0, ...pairs.map((p) => p.ref.in));
  }

  /**
   * A new adapter on the maps `config` targets. With init_lora_weights true, A is
   * Kaiming-uniform as PEFT draws it (bound 1/√in) and B is zero, so the model starts as its
   * base; false draws B too (tests); 'gaussian' draws A ~ N(0, 1/r).
   */
  static create(backend: Backend, arch: Architecture, refs: DecoderRefs, config: LoraConfig, baseShapes: ReadonlyMap<string, readonly number[]>, options: LoraAdapterOptions = {}): LoraAdapter {
    const { pairs, saved } = adapterPlan(arch, refs, config, options.heads, [...baseShapes.keys()]);
    const seed = options.seed ?? 0;
    const uniform = uniformSampler(seed);
    const normal = normalSampler(seed + 1);
    const drawn = (name: string, size: number): Float32Array | undefined => {
      const pair = pairs.find((p) => p.a === name || p.b === name)!;
      const isA = pair.a === name;
      if (!isA && config.init_lora_weights === true) return undefined; // B = 0
      const v = new Float32Array(size);
      if (isA && config.init_lora_weights === 'gaussian') for (let i = 0; i < size; i++) v[i] = normal() / config.r;
      else for (let i = 0; i < size; i++) v[i] = (2 * uniform() - 1) / Math.sqrt(pair.ref.in);
      return v;
    };
    const shapeOf = (name: string) => headShape(name, arch.hiddenSize) ?? [...baseShapes.get(name)!];
    return LoraAdapter.#build(backend, config, pairs, saved, shapeOf, seed, (name, size) =>
      options.values ? options.values.get(name) : saved.includes(name) ? options.initial?.(name) : drawn(name, size));
  }

  /** The store of `pairs` and `saved` tensors (shapes from shapeOf), filled by `value` (undefined: zeros). */
  static #build(backend: Backend, config: LoraConfig, pairs: LoraPair[], saved: string[], shapeOf: (name: string) => number[], seed: number,
    value: (name: string, size: number) => Float32Array | undefined): LoraAdapter {
    const zeros = { kind: 'zeros' } as const;
    const tensors: TensorInit[] = pairs.flatMap((p) => [{ name: p.a, shape: [config.r, p.ref.in], init: zeros }, { name: p.b, shape: [p.ref.out, config.r], init: zeros }]);
    const layout = packParameters([...tensors, ...saved.map((name) => ({ name, shape: shapeOf(name), init: zeros }))]);
    const host = initialValues(layout, seed, (spec) => value(spec.name, spec.size));
    const store = new ParameterStore(backend, layout, backend.tensor(host, [layout.total], layout));
    return new LoraAdapter(backend, config, store, pairs, saved, seed);
  }

  /** Values of every tensor by store name, on the host. */
  async values(): Promise<Map<string, Float32Array>> {
    return this.store.readParameters();
  }

  /** Training forwards that drew a dropout mask so far: a checkpoint keeps it, so a resumed run draws the same masks. */
  get dropoutDraws(): number {
    return this.#forwards;
  }

  set dropoutDraws(n: number) {
    this.#forwards = n;
  }

  /** Call at the start of each model forward: a new dropout mask for a training forward. */
  beginForward(training: boolean): void {
    this.#dropoutOffset = training && this.training && this.config.lora_dropout > 0 && this.enabled ? this.#forwards++ * this.pairs.size : undefined;
  }

  /** The update without dropout, for forwards that never run backward (generation's KV-cache decoder). */
  readonly inference: LowRankUpdate = {
    forward: (x, ref, out) => this.#forward(x, ref, out, false),
    backward: () => {
      throw new TensorStateError('LoraAdapter: the inference update has no backward');
    },
  };

  forward(x: Tensor, ref: LinearRef, out: Tensor): void {
    this.#forward(x, ref, out, true);
  }

  #forward(x: Tensor, ref: LinearRef, out: Tensor, training: boolean): void {
    const pair = this.enabled ? this.pairs.get(ref.weight) : undefined;
    if (!pair) return;
    const s = this.#buffers(x.shape[0]!);
    const input = training ? this.#dropped(x, pair, s.x) : x;
    matmul(input, this.store.param(pair.a), { transB: true, out: s.h });
    matmul(s.h, this.store.param(pair.b), { transB: true, alpha: this.scaling, out, accumulate: true });
  }

  backward(x: Tensor, dy: Tensor, ref: LinearRef, dx: Tensor): void {
    const pair = this.enabled ? this.pairs.get(ref.weight) : undefined;
    if (!pair) return;
    const s = this.#buffers(x.shape[0]!);
    const [A, B] = [this.store.param(pair.a), this.store.param(pair.b)];
    // h = A·x is recomputed, not kept: r columns per token cost less than a buffer per map.
    const input = this.#dropped(x, pair, s.x);
    matmul(input, A, { transB: true, out: s.h });
    matmul(dy, s.h, { transA: true, alpha: this.scaling, out: this.store.grad(pair.b), accumulate: true });
    matmul(dy, B, { alpha: this.scaling, out: s.dh });
    matmul(s.dh, input, { transA: true, out: this.store.grad(pair.a), accumulate: true });
    if (input === x) {
      matmul(s.dh, A, { out: dx, accumulate: true });
      return;
    }
    // Dropout is linear with a fixed mask: the same call maps ∂L/∂(dropped x) to ∂L/∂x.
    // (The dropped input is read; its buffer takes ∂L/∂(dropped x).)
    matmul(s.dh, A, { out: input });
    dropout(input, dx, { ...this.#dropoutCounter(pair), accumulate: true });
  }

  /** A trainable copy: same maps, values copied on the device. */
  clone(): LoraAdapter {
    const layout = this.store.layout;
    const params = this.#backend.zeros([layout.total], layout);
    this.#backend.copy(this.store.params, params);
    return this.#withStore(new ParameterStore(this.#backend, layout, params), this.saved);
  }

  /** A trainable copy (same maps, same values), with heads added when asked (a new head starts at `initial`'s values or zero). */
  async copy(options: { heads?: HeadOptions; hiddenSize: number; initial?: (name: string) => Float32Array | undefined }): Promise<LoraAdapter> {
    const values = await this.values();
    const saved = [...this.saved];
    for (const h of ['score', 'value'] as const) if (options.heads?.[h] && !saved.includes(HEAD_TENSORS[h][0])) saved.push(...headTensors(h, this.config.task_type));
    const shapes = new Map(this.store.layout.specs.map((s) => [s.name, s.shape]));
    const shapeOf = (name: string) => shapes.get(name) ?? headShape(name, options.hiddenSize)!;
    const copy = LoraAdapter.#build(this.#backend, this.config, [...this.pairs.values()], saved, shapeOf, this.#seed + 1,
      (name) => values.get(name) ?? options.initial?.(name));
    copy.enabled = this.enabled;
    copy.training = this.training;
    return copy;
  }

  /** An adapter like this one (maps, switches, a new dropout stream) over another store. */
  #withStore(store: ParameterStore, saved: readonly string[]): LoraAdapter {
    const adapter = new LoraAdapter(this.#backend, this.config, store, [...this.pairs.values()], [...saved], this.#seed + 1);
    adapter.enabled = this.enabled;
    adapter.training = this.training;
    return adapter;
  }

  get bytes(): number {
    return this.store.bytes + (this.#scratch ? (this.#scratch.h.size + this.#scratch.dh.size + (this.#scratch.x?.size ?? 0)) * 4 : 0);
  }

  dispose(): void {
    this.#freeScratch();
    this.store.dispose();
  }

  /** x, or x with lora_dropout applied into `scratch` when the current forward trains. */
  #dropped(x: Tensor, pair: LoraPair, scratch: Tensor | undefined): Tensor {
    if (this.#dropoutOffset === undefined || !scratch) return x;
    const view = this.#backend.view(scratch, 0, x.shape as number[]);
    dropout(x, view, this.#dropoutCounter(pair));
    return view;
  }

  #dropoutCounter(pair: LoraPair) {
    return { p: this.config.lora_dropout, seed: this.#seed, stream: 0, offset: this.#dropoutOffset! + this.#index.get(pair)! };
  }

  #buffers(n: number) {
    const r = this.config.r;
    const needX = this.config.lora_dropout > 0;
    if (!this.#scratch || this.#scratch.n !== n || (needX && !this.#scratch.x)) {
      this.#freeScratch();
      const be = this.#backend;
      this.#scratch = { n, h: be.zeros([n, r]), dh: be.zeros([n, r]), x: needX ? be.zeros([n * this.#maxIn]) : undefined };
    }
    return this.#scratch;
  }

  #freeScratch(): void {
    this.#scratch?.h.dispose();
    this.#scratch?.dh.dispose();
    this.#scratch?.x?.dispose();
    this.#scratch = undefined;
  }
}

/** A head tensor's shape ([1, C] weight, [1] bias), or undefined for any other name. */
function headShape(name: string, hiddenSize: number): number[] | undefined {
  const isHead = Object.values(HEAD_TENSORS).some((pair) => pair.includes(name));
  return isHead ? (name.endsWith('.bias') ? [1] : [1, hiddenSize]) : undefined;
}
