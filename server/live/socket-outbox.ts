/**
 * What one socket still has to receive. A socket whose transport has not
 * flushed its last message (a slow client) gets nothing more until it drains;
 * meanwhile only the newest snapshot per topic is kept, so it never builds a backlog.
 */
import type { Socket } from 'socket.io';
import type { ViewSnapshot } from '../../shared/views.ts';

export class SocketOutbox {
  readonly #pending = new Map<string, ViewSnapshot>();
  readonly #sentVersion = new Map<string, number>();
  #waitingForDrain = false;

  constructor(private readonly socket: Socket) {}

  /** Remembers the version a subscriber already has (from its snapshot), so an older update is not sent after it. */
  sent(topic: string, version: number): void {
    this.#sentVersion.set(topic, version);
  }

  send(topic: string, snapshot: ViewSnapshot): void {
    if (snapshot.version < (this.#sentVersion.get(topic) ?? 0)) return;
    this.#pending.set(topic, snapshot);
    this.#flush();
  }

  forget(topic: string): void {
    this.#pending.delete(topic);
    this.#sentVersion.delete(topic);
  }

  #flush(): void {
    if (this.#waitingForDrain || this.#pending.size === 0 || this.socket.disconnected) return;
    // engine.io keeps unsent packets in writeBuffer; non-empty means the client is behind.
    if ((this.socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length > 0) {
      this.#waitingForDrain = true;
      this.socket.conn.once('drain', () => {
        this.#waitingForDrain = false;
        this.#flush();
      });
      return;
    }
    for (const [topic, snapshot] of this.#pending) {
      this.socket.emit('view:update', snapshot);
      this.#sentVersion.set(topic, snapshot.version);
    }
    this.#pending.clear();
  }
}
