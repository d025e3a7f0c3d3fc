export { AttemptLimiter } from './attempts.js';
export { DEFAULT_CONNECTIONS_PER_ADDRESS, guardConnections } from './connections.js';
export { HostAllowList } from './hosts.js';
export { isLoopback, listenAddress, parseListen } from './listen.js';
export { type AgentToken, loadToken, readToken, tokenMatches } from './token.js';
