export * from './agent.js';
export * from './spec.js';
export * from './units.js';
