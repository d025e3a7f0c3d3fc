export * from './agent.js';
export * from './spec.js';
export * from './units.js';
export * from './utf8.js';
