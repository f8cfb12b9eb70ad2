import { KERNELS, type KernelFile } from './kernels.js';

/**
 * Compute pipelines, built once per (kernel file, entry point, override constants) and
 * reused for every dispatch. Shapes that vary between calls go in uniforms, never here.
 */
export class PipelineCache {
  private readonly modules = new Map<KernelFile, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  get(file: KernelFile, entryPoint: string, constants: Record<string, number> = {}): GPUComputePipeline {
    const key = `${file}:${entryPoint}:${JSON.stringify(constants)}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: { module: this.module(file), entryPoint, constants },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  private module(file: KernelFile): GPUShaderModule {
    let module = this.modules.get(file);
    if (!module) {
      module = this.device.createShaderModule({ label: `${file}.wgsl`, code: KERNELS[file] });
      this.modules.set(file, module);
    }
    return module;
  }
}
