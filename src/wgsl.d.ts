// Every WGSL file under kernels/, by its path there ('matmul.wgsl', 'lib/math.wgsl'): a virtual
// module the bundler makes (scripts/build_lib.mjs, kernelSourcesPlugin).
declare module 'webrlhf:kernel-sources' {
  const sources: Readonly<Record<string, string>>;
  export default sources;
}
