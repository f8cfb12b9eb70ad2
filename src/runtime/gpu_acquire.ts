/**
 * Turning a `GPU` object into an adapter and a device with the limits the kernels need.
 * Shared by every platform; the platforms only say where `GPU` objects come from.
 */

/** One place a GPU may come from (navigator.gpu, or Dawn with some flags). */
export interface GPUSource {
  label: string;
  /** Feature levels to ask for, in order. Dawn's OpenGL ES backend is compatibility-only. */
  featureLevels: readonly GPUFeatureLevel[];
  open(): Promise<GPU | undefined>;
}

type GPUFeatureLevel = 'core' | 'compatibility';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  source: string;
  featureLevel: GPUFeatureLevel;
  software: boolean;
  features: string[];
  limits: Record<string, number>;
}

export interface AcquiredGPU {
  device: GPUDevice;
  summary: AdapterSummary;
  /** Keeps the GPU object (and, in Node, Dawn's instance) alive until released. */
  gpu: GPU;
}

/** The limits the kernels use, requested at the adapter's own maximum. */
const WANTED_LIMITS = [
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Features worth having when offered; every kernel has a path without them. */
const WANTED_FEATURES = ['timestamp-query'] as const;

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|warp|basic render|software/i;

export function isSoftwareAdapter(adapter: GPUAdapter, info: { vendor: string; architecture: string; device: string; description: string }): boolean {
  const fallback = (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true || (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return fallback || SOFTWARE.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

/**
 * Tries each source and feature level in turn; returns the first device, or the list of
 * what was tried and why each failed.
 */
export async function acquireGPU(sources: readonly GPUSource[]): Promise<{ gpu?: AcquiredGPU; attempts: string[] }> {
  const attempts: string[] = [];
  for (const source of sources) {
    let gpu: GPU | undefined;
    try {
      gpu = await source.open();
    } catch (e) {
      attempts.push(`${source.label}: could not be loaded (${errorText(e)})`);
      continue;
    }
    if (!gpu) {
      attempts.push(`${source.label}: not available in this runtime`);
      continue;
    }
    for (const featureLevel of source.featureLevels) {
      const label = `${source.label} (${featureLevel})`;
      let adapter: GPUAdapter | null = null;
      try {
        adapter = await gpu.requestAdapter({ featureLevel } as GPURequestAdapterOptions);
      } catch (e) {
        attempts.push(`${label}: requestAdapter failed (${errorText(e)})`);
        continue;
      }
      if (!adapter) {
        attempts.push(`${label}: no adapter`);
        continue;
      }
      try {
        const device = await requestDevice(adapter);
        return { gpu: { device, gpu, summary: summarize(adapter, device, source.label, featureLevel) }, attempts };
      } catch (e) {
        attempts.push(`${label}: requestDevice failed (${errorText(e)})`);
      }
    }
  }
  return { attempts };
}

async function requestDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {};
  const limits = adapter.limits as unknown as Record<string, number | undefined>;
  for (const key of WANTED_LIMITS) {
    const value = limits[key];
    if (typeof value === 'number') requiredLimits[key] = value;
  }
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  return adapter.requestDevice({ label: 'webrlhf', requiredLimits, requiredFeatures });
}

function summarize(adapter: GPUAdapter, device: GPUDevice, source: string, featureLevel: GPUFeatureLevel): AdapterSummary {
  const raw = (adapter as { info?: GPUAdapterInfo }).info;
  const info = {
    vendor: raw?.vendor ?? '',
    architecture: raw?.architecture ?? '',
    device: raw?.device ?? '',
    description: raw?.description ?? '',
  };
  const limits: Record<string, number> = {};
  for (const key of WANTED_LIMITS) limits[key] = (device.limits as unknown as Record<string, number>)[key]!;
  return {
    ...info,
    source,
    featureLevel,
    software: isSoftwareAdapter(adapter, info),
    features: [...adapter.features].map(String).sort(),
    limits,
  };
}

export function adapterName(s: AdapterSummary): string {
  return s.description || [s.vendor, s.architecture, s.device].filter(Boolean).join(' ') || 'unknown adapter';
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}
