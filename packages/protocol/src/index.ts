export * from './spec.js';
export * from './units.js';
