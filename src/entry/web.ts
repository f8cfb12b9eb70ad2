import { setPlatform } from '../runtime/platform.js';
import { webPlatform } from '../runtime/platform_web.js';

setPlatform(webPlatform);

export * from '../index.js';
