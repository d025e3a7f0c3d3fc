export * from './agent.js';
export * from './answer.js';
export * from './call.js';
export * from './dashboard.js';
export * from './engines.js';
export * from './vocabulary.js';
