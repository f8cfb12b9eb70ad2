// Must be the test entry's first import: with UVU_DEFER set, uvu queues suites instead of
// running them on a timer, so the entry decides when they run and cleans up afterwards.
const g = globalThis as { UVU_DEFER?: number; UVU_QUEUE?: unknown[][] };
g.UVU_DEFER = 1;
g.UVU_QUEUE = [[null]];
export {};
