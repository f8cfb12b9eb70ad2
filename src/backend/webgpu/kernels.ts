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
import bradley_terry from '../../../kernels/losses/bradley_terry.wgsl';
import dpo from '../../../kernels/losses/dpo.wgsl';
import gae from '../../../kernels/losses/gae.wgsl';
import gaussian_reparameterize from '../../../kernels/losses/gaussian_reparameterize.wgsl';
import masked_whiten from '../../../kernels/losses/masked_whiten.wgsl';
import mib from '../../../kernels/losses/mib.wgsl';
import ppo_policy_loss from '../../../kernels/losses/ppo_policy_loss.wgsl';
import ppo_rewards from '../../../kernels/losses/ppo_rewards.wgsl';
import ppo_value_loss from '../../../kernels/losses/ppo_value_loss.wgsl';
import rlmec from '../../../kernels/losses/rlmec.wgsl';
import workgroup_sum from '../../../kernels/losses/workgroup_sum.wgsl';

/** WGSL sources by kernel file name, inlined at build time. */
export const KERNELS = {
  matmul, elementwise, reduce, embedding, layernorm, gelu, attention, cached_attention, crossentropy, adamw,
  // WGSL has no includes: the generator goes in front of the kernels that draw from it.
  random: philox + random, sampling: philox + sampling, logprobs,
  // The loss kernels share the single-workgroup reduction.
  ppo_rewards: workgroup_sum + ppo_rewards, masked_whiten: workgroup_sum + masked_whiten, gae: workgroup_sum + gae,
  ppo_policy_loss: workgroup_sum + ppo_policy_loss, ppo_value_loss: workgroup_sum + ppo_value_loss,
  bradley_terry: workgroup_sum + bradley_terry, dpo: workgroup_sum + dpo, rlmec: workgroup_sum + rlmec,
  // RLP-UML's bottleneck (elementwise reparameterisation too: it shares softplus and sigmoid).
  gaussian_reparameterize: workgroup_sum + gaussian_reparameterize, mib: workgroup_sum + mib,
} as const;

export type KernelFile = keyof typeof KERNELS;
