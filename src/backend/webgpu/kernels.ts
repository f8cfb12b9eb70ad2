import elementwise from '../../../kernels/elementwise.wgsl';
import matmul from '../../../kernels/matmul.wgsl';
import reduce from '../../../kernels/reduce.wgsl';

/** WGSL sources by kernel file name, inlined at build time. */
export const KERNELS = { matmul, elementwise, reduce } as const;

export type KernelFile = keyof typeof KERNELS;
