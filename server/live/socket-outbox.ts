/**
 * What one socket still has to receive. A socket whose transport has not
 * flushed its last message (a slow client) gets nothing more until it drains;
 * meanwhile only the newest snapshot per topic is kept, so it never builds a backlog.
 * A socket that keeps up takes an update at once: the hub sends it to all such
 * sockets of a topic in one broadcast, so the update is encoded once, not once per client.
 */
import type { Socket } from 'socket.io';
import type { ViewSnapshot } from '../../shared/views.ts';

/** `now`: the caller sends it (with the other sockets that keep up); `later`: kept until the socket drains; `stale`: older than what it has. */
export type Delivery = 'now' | 'later' | 'stale';

export class SocketOutbox {
  readonly #pending = new Map<string, ViewSnapshot>();
  readonly #sentVersion = new Map<string, number>();
  #waitingForDrain = false;

  /** `flushed`: told of each update sent later, once the socket drained (metrics). */
  constructor(private readonly socket: Socket, private readonly flushed: (snapshot: ViewSnapshot) => void = () => {}) {}

  /** Remembers the version a subscriber already has (from its snapshot), so an older update is not sent after it. */
  sent(topic: string, version: number): void {
    this.#sentVersion.set(topic, version);
  }

  take(topic: string, snapshot: ViewSnapshot): Delivery {
    if (snapshot.version < (this.#sentVersion.get(topic) ?? 0)) return 'stale';
    if (this.#keepsUp()) {
      this.#sentVersion.set(topic, snapshot.version);
      return 'now';
    }
    this.#pending.set(topic, snapshot);
    this.#waitForDrain();
    return 'later';
  }

  forget(topic: string): void {
    this.#pending.delete(topic);
    this.#sentVersion.delete(topic);
  }

  #keepsUp(): boolean {
    // engine.io keeps unsent packets in writeBuffer; non-empty means the client is behind.
    return !this.#waitingForDrain && this.socket.connected && this.#writeBuffer().length === 0;
  }

  #writeBuffer(): unknown[] {
    return (this.socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer;
  }

  #waitForDrain(): void {
    if (this.#waitingForDrain) return;
    this.#waitingForDrain = true;
    this.socket.conn.once('drain', () => {
      this.#waitingForDrain = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#pending.size === 0 || !this.socket.connected) return;
    if (this.#writeBuffer().length > 0) return this.#waitForDrain();
    for (const [topic, snapshot] of this.#pending) {
      this.socket.emit('view:update', snapshot);
      this.#sentVersion.set(topic, snapshot.version);
      this.flushed(snapshot);
    }
    this.#pending.clear();
  }
}
