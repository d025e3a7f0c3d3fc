/**
 * Containers, their specs and what describes them (ports, sizes, images' summaries), without
 * the agent's API: what the runtime and a local CLI need. Its own entry point
 * (`@tocker/protocol/vocabulary`) because the agent's request, reply and event schemas cost
 * every CLI start ~1.2 ms to build, and a local command uses none of them; their types are
 * free (`import type` from `@tocker/protocol`).
 */
export * from './container.js';
export * from './images.js';
export * from './jsonl.js';
export * from './ports.js';
export * from './process-settings.js';
export * from './spec.js';
export * from './units.js';
export * from './utf8.js';
