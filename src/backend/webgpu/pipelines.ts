import { reflectWGSL, type EntryPointInterface, type ModuleInterface } from './wgsl_reflection.js';
import { fileOfEntryPoint, kernelModule } from './wgsl_sources.js';

/**
 * Shader modules (one per kernel file, its includes expanded), what each declares (read once
 * from its source), and compute pipelines, built once per (entry point, override constants)
 * and reused for every dispatch. Shapes that vary between calls go in uniforms, never here.
 */
export class PipelineCache {
  private readonly modules = new Map<string, { module: GPUShaderModule; reflection: ModuleInterface }>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  /** What entry point `entry` binds and reads, from its module's own declarations. */
  entryPoint(entry: string): EntryPointInterface {
    return this.module(fileOfEntryPoint(entry)).reflection.entryPoints.get(entry)!;
  }

  get(entry: string, constants: Record<string, number> = {}): GPUComputePipeline {
    const key = `${entry}:${JSON.stringify(constants)}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: { module: this.module(fileOfEntryPoint(entry)).module, entryPoint: entry, constants },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  private module(file: string): { module: GPUShaderModule; reflection: ModuleInterface } {
    let m = this.modules.get(file);
    if (!m) {
      const code = kernelModule(file);
      m = { module: this.device.createShaderModule({ label: file, code }), reflection: reflectWGSL(code, file) };
      this.modules.set(file, m);
    }
    return m;
  }
}
