export { startRedis } from './start-redis.js';
export { startCluster } from './cluster.js';
export type { StartClusterOptions, RedisClusterTopology, ClusterNodeInfo } from './cluster.js';
export { watchResetThenFailedCheck } from './cluster-failover.js';
export type { HeldFailover, NodeAdmin, SlotOwner } from './cluster-failover.js';
export { startSentinel } from './sentinel.js';
export type { StartSentinelOptions, RedisSentinelTopology } from './sentinel.js';
export type { RedisServer, StartRedisOptions, Backend } from './server.js';
export type { LocalRedisServer } from './local-server.js';
export type { TlsMaterial } from './tls.js';
export { detectBackend, testkitCapabilities, INSTALL_HINT } from './backend.js';
export type { TestkitCapabilities } from './backend.js';
export { startFaultProxy } from './fault-proxy.js';
export type {
  FaultProxy,
  FaultProxyTarget,
  FaultProxyOptions,
  PartitionOptions,
  FaultProxyFaults,
  FaultProxyStats,
  FaultProxyDirectionStats,
} from './fault-proxy.js';
export { waitFor, nextEvent } from './wait.js';
export type { WaitForOptions } from './wait.js';
export { getFreePort } from './ports.js';
export { killRedisUnderScript, reportedMs, runNodeScript, runNodeScriptToEnd } from './node-script.js';
export type { NodeScript, ScriptEnd } from './node-script.js';
export { probeRedis } from './ping.js';
export { clientNames, withAdmin, parseInfo } from './admin.js';
export { TestkitUnavailableError, TestkitCapabilityError, TestkitStartError } from './errors.js';
