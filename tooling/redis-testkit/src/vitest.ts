// `@lota/redis-testkit/vitest`: helpers for test files run by vitest (they register hooks).
export { cleanupAfterEach } from './helpers/cleanup.js';
export { forEachTopology } from './helpers/topologies.js';
export { suiteCluster } from './helpers/suite-cluster.js';
export type { ForEachTopologyOptions, Topology, TopologyName } from './helpers/topologies.js';
export { recordingLogger } from './helpers/recording-logger.js';
export type { LogLine, RecordingLogger } from './helpers/recording-logger.js';
