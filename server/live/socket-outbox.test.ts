import { EventEmitter } from 'node:events';
import type { Socket } from 'socket.io';
import { describe, expect, it } from 'vitest';
import type { ViewSnapshot } from '../../shared/views.ts';
import { SocketOutbox } from './socket-outbox.ts';

/** The two things the outbox looks at on a Socket.IO socket: its engine.io write buffer and 'drain'. */
function slowSocket() {
  const conn = Object.assign(new EventEmitter(), { writeBuffer: [] as unknown[] });
  const sent: ViewSnapshot[] = [];
  const socket = { conn, connected: true, emit: (_: string, snapshot: ViewSnapshot) => sent.push(snapshot) };
  return { socket: socket as unknown as Socket, conn, sent };
}

const snapshot = (version: number): ViewSnapshot => ({ view: 'inventory', filter: {}, version, state: { rows: [] } });

describe('a socket outbox', () => {
  it('hands each update of a client that keeps up to the hub at once, to broadcast with the others', () => {
    const { socket, sent } = slowSocket();
    const outbox = new SocketOutbox(socket);
    expect([outbox.take('t', snapshot(1)), outbox.take('t', snapshot(2))]).toEqual(['now', 'now']);
    expect(sent).toEqual([]); // the hub's broadcast sends it, encoded once for every such client
  });

  it('keeps only the newest state per topic for a client that is behind, and sends it when it drains', () => {
    const { socket, conn, sent } = slowSocket();
    const outbox = new SocketOutbox(socket);
    conn.writeBuffer.push('unsent packet');
    for (let version = 1; version <= 50; version++) expect(outbox.take('t', snapshot(version))).toBe('later');
    expect(outbox.take('other', snapshot(3))).toBe('later');
    expect(sent).toEqual([]);
    conn.writeBuffer.length = 0;
    conn.emit('drain');
    expect(sent.map((s) => s.version)).toEqual([50, 3]);
  });

  it('never sends an update older than the snapshot the subscriber already has', () => {
    const { socket, sent } = slowSocket();
    const outbox = new SocketOutbox(socket);
    outbox.sent('t', 10);
    expect(outbox.take('t', snapshot(9))).toBe('stale');
    expect(outbox.take('t', snapshot(11))).toBe('now');
    expect(sent).toEqual([]);
  });
});
