import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';


/**
 * Closes a socket abruptly (RST) where TCP allows it, else plainly. Node's resetAndDestroy() on a
 * socket whose write side is already shut down (we forwarded a FIN with end()) fails inside libuv
 * (a reset needs an open write side): it emits an 'error', never emits 'close', and leaves the
 * handle open, so the socket leaks and a close() that waits for it hangs (found by the fault
 * campaign). A socket still connecting has nothing to reset yet either.
 */
function abort(socket: Socket): void {
  if (socket.connecting || socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}
/**
 * One proxied TCP connection: the client's socket, the upstream socket to the target, and a
 * queue per direction. Every chunk read from one side is queued with the time it may leave
 * (now + the latency the proxy asks for, never before the chunk ahead of it, so order holds),
 * then, when due, forwarded, dropped or held according to the proxy's current faults.
 *
 * A close travels the same queue as data: a FIN (`end`) or an abrupt close (`rst`) from one
 * side reaches the other side in order, after the bytes that were ahead of it. A partition
 * never drops a close, it holds it (TCP retransmits a FIN until it gets through), so a side
 * that closes during blackhole/halfOpen is seen closing by its peer only after `heal()`.
 */

/** Which way bytes flow. */
export type DirectionName = 'toServer' | 'toClient';

/** What a blocked direction does with a chunk that is due. */
export type BlockedMode = 'drop' | 'hold';

/** The proxy's faults, asked for each chunk (delay) and at each release (blocked). */
export interface LinkPolicy {
  /** Delay for a chunk read now, in ms. */
  delayMs(): number;
  /** `false` when the direction forwards, else what to do with due bytes. */
  blocked(direction: DirectionName): false | BlockedMode;
}

/** Byte counters shared by every link of a proxy, one per direction. */
export interface DirectionCounters {
  forwardedBytes: number;
  droppedBytes: number;
}

/**
 * Above this many bytes queued in one direction (latency, or a held partition) the link stops
 * reading that side until the queue drains, as a full TCP window would; it keeps a flood from
 * growing the test process's memory without bound.
 */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

type Item = { at: number; chunk: Buffer } | { at: number; close: 'fin' | 'rst' };

class Direction {
  private readonly queue: Item[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastAt = 0;
  private waitingDrain = false;
  private srcPaused = false;
  private closeQueued = false;
  /** The link is gone: nothing is queued or scheduled any more. */
  private dead = false;
  pendingBytes = 0;

  constructor(
    private readonly name: DirectionName,
    private readonly src: Socket,
    private readonly dst: Socket,
    private readonly policy: LinkPolicy,
    private readonly counters: DirectionCounters,
  ) {
    src.on('data', (chunk: Buffer) => this.push(chunk));
    src.on('end', () => this.pushClose('fin'));
    // A close without a FIN first (error, reset, destroy) reaches the peer as a reset.
    src.on('close', () => this.pushClose('rst'));
    dst.on('drain', () => {
      this.waitingDrain = false;
      this.flow();
    });
  }

  /** When an item read now may leave: after the latency, and never before the item ahead. */
  private dueAt(): number {
    this.lastAt = Math.max(performance.now() + this.policy.delayMs(), this.lastAt);
    return this.lastAt;
  }

  private push(chunk: Buffer): void {
    if (this.dead) {
      this.counters.droppedBytes += chunk.length;
      return;
    }
    this.queue.push({ at: this.dueAt(), chunk });
    this.pendingBytes += chunk.length;
    this.pump();
  }

  private pushClose(kind: 'fin' | 'rst'): void {
    if (this.closeQueued || this.dead) return;
    this.closeQueued = true;
    this.queue.push({ at: this.dueAt(), close: kind });
    this.pump();
  }

  /** Sends (or drops) everything that is due, then sleeps until the next item is. */
  pump(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const wait = head.at - performance.now();
      if (wait > 0) {
        // Not unref()'d: a caller awaits the reply this timer releases.
        this.timer = setTimeout(() => this.pump(), Math.ceil(wait));
        break;
      }
      const blocked = this.policy.blocked(this.name);
      if (blocked === 'hold' || (blocked === 'drop' && 'close' in head)) break;
      this.queue.shift();
      if ('chunk' in head) {
        this.pendingBytes -= head.chunk.length;
        if (blocked === 'drop' || this.dst.destroyed || !this.dst.writable) {
          this.counters.droppedBytes += head.chunk.length;
        } else {
          this.counters.forwardedBytes += head.chunk.length;
          if (!this.dst.write(head.chunk)) this.waitingDrain = true;
        }
      } else if (!this.dst.destroyed) {
        if (head.close === 'fin') this.dst.end();
        else abort(this.dst);
      }
    }
    this.flow();
  }

  /** Makes everything queued due now (heal: no latency any more). */
  releaseAll(): void {
    for (const item of this.queue) item.at = 0;
    this.lastAt = 0;
    this.pump();
  }

  /** Forgets the queue (the link is gone); its bytes count as dropped. */
  discard(): void {
    this.dead = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.counters.droppedBytes += this.pendingBytes;
    this.pendingBytes = 0;
    this.queue.length = 0;
  }

  private flow(): void {
    if (this.src.destroyed) return;
    const pause = this.waitingDrain || this.pendingBytes > MAX_QUEUED_BYTES;
    if (pause && !this.srcPaused) this.src.pause();
    if (!pause && this.srcPaused) this.src.resume();
    this.srcPaused = pause;
  }
}

/** A client connection and its upstream connection, with a queue each way. */
export class FaultLink {
  private readonly toServer: Direction;
  private readonly toClient: Direction;
  private clientOpen = true;
  private resetting = false;
  /** Resolves once both sockets have closed. */
  readonly closed: Promise<void>;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    policy: LinkPolicy,
    counters: Record<DirectionName, DirectionCounters>,
    hooks: { onUpstreamError: () => void; onClosed: () => void },
  ) {
    for (const s of [client, upstream]) s.setNoDelay(true);
    this.toServer = new Direction('toServer', client, upstream, policy, counters.toServer);
    this.toClient = new Direction('toClient', upstream, client, policy, counters.toClient);
    client.on('error', () => undefined);
    upstream.on('error', () => {
      if (!this.resetting) hooks.onUpstreamError();
    });
    const clientClosed = new Promise<void>((resolve) =>
      client.once('close', () => {
        this.clientOpen = false;
        resolve();
      }),
    );
    const upstreamClosed = new Promise<void>((resolve) =>
      upstream.once('close', () => resolve()),
    );
    this.closed = Promise.all([clientClosed, upstreamClosed]).then(() => {
      this.toServer.discard();
      this.toClient.discard();
      hooks.onClosed();
    });
  }

  /** The client side is still connected (and not being torn down by the proxy). */
  get live(): boolean {
    return this.clientOpen && !this.resetting;
  }

  /** Bytes read one way and not delivered yet. */
  pendingBytes(direction: DirectionName): number {
    return direction === 'toServer' ? this.toServer.pendingBytes : this.toClient.pendingBytes;
  }

  /** Re-evaluates both queues after a fault changed. */
  pump(): void {
    this.toServer.pump();
    this.toClient.pump();
  }

  /** Makes everything queued due now, then forwards it. */
  releaseAll(): void {
    this.toServer.releaseAll();
    this.toClient.releaseAll();
  }

  /** Abrupt close of both sockets (RST each way); queued bytes are dropped. */
  reset(): boolean {
    if (this.resetting) return false;
    this.resetting = true;
    this.toServer.discard();
    this.toClient.discard();
    if (!this.client.destroyed) abort(this.client);
    if (!this.upstream.destroyed) abort(this.upstream);
    return true;
  }

  /** Plain close of both sockets (proxy shutdown); queued bytes are dropped. */
  destroy(): void {
    this.resetting = true;
    this.toServer.discard();
    this.toClient.discard();
    this.client.destroy();
    this.upstream.destroy();
  }
}
