import adamw from '../../../kernels/adamw.wgsl';
import attention from '../../../kernels/attention.wgsl';
import cached_attention from '../../../kernels/cached_attention.wgsl';
import crossentropy from '../../../kernels/crossentropy.wgsl';
import elementwise from '../../../kernels/elementwise.wgsl';
import embedding from '../../../kernels/embedding.wgsl';
import gelu from '../../../kernels/gelu.wgsl';
import layernorm from '../../../kernels/layernorm.wgsl';
import logprobs from '../../../kernels/logprobs.wgsl';
import matmul from '../../../kernels/matmul.wgsl';
import philox from '../../../kernels/philox.wgsl';
import random from '../../../kernels/random.wgsl';
import reduce from '../../../kernels/reduce.wgsl';
import sampling from '../../../kernels/sampling.wgsl';

/** WGSL sources by kernel file name, inlined at build time. */
export const KERNELS = {
  matmul, elementwise, reduce, embedding, layernorm, gelu, attention, cached_attention, crossentropy, adamw,
  // WGSL has no includes: the generator goes in front of the kernels that draw from it.
  random: philox + random, sampling: philox + sampling, logprobs,
} as const;

export type KernelFile = keyof typeof KERNELS;
