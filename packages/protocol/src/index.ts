export * from './agent.js';
export * from './answer.js';
export * from './container.js';
export * from './dashboard.js';
export * from './jsonl.js';
export * from './spec.js';
export * from './units.js';
export * from './utf8.js';
