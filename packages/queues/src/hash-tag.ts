/**
 * The BullMQ prefix of one queue: `<prefix>:{<queue>}`. Every key of the queue then carries the
 * same Redis Cluster hash tag (`{<queue>}`), so BullMQ's multi-key Lua scripts run on one
 * slot, while different queues hash to different slots and spread over the cluster.
 */
export function queuePrefix(prefix: string, queue: string): string {
  return `${prefix}:{${queue}}`;
}
