import { setPlatform } from '../runtime/platform.js';
import { nodePlatform } from '../runtime/platform_node.js';

setPlatform(nodePlatform);

export * from '../index.js';
