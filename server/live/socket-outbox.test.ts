import { EventEmitter } from 'node:events';
import type { Socket } from 'socket.io';
import { describe, expect, it } from 'vitest';
import type { ViewSnapshot } from '../../shared/views.ts';
import { SocketOutbox } from './socket-outbox.ts';

/** The two things the outbox looks at on a Socket.IO socket: its engine.io write buffer and 'drain'. */
function slowSocket() {
  const conn = Object.assign(new EventEmitter(), { writeBuffer: [] as unknown[] });
  const sent: ViewSnapshot[] = [];
  const socket = { conn, disconnected: false, emit: (_: string, snapshot: ViewSnapshot) => sent.push(snapshot) };
  return { socket: socket as unknown as Socket, conn, sent };
}

const snapshot = (version: number): ViewSnapshot => ({ view: 'inventory', filter: {}, version, state: { rows: [] } });

describe('a socket outbox', () => {
  it('sends at once to a client that keeps up', () => {
    const { socket, sent } = slowSocket();
    const outbox = new SocketOutbox(socket);
    outbox.send('t', snapshot(1));
    outbox.send('t', snapshot(2));
    expect(sent.map((s) => s.version)).toEqual([1, 2]);
  });

  it('keeps only the newest state per topic for a client that is behind, and sends it when it drains', () => {
    const { socket, conn, sent } = slowSocket();
    const outbox = new SocketOutbox(socket);
    conn.writeBuffer.push('unsent packet');
    for (let version = 1; version <= 50; version++) outbox.send('t', snapshot(version));
    outbox.send('other', snapshot(3));
    expect(sent).toEqual([]);
    conn.writeBuffer.length = 0;
    conn.emit('drain');
    expect(sent.map((s) => s.version)).toEqual([50, 3]);
  });

  it('never sends an update older than the snapshot the subscriber already has', () => {
    const { socket, sent } = slowSocket();
    const outbox = new SocketOutbox(socket);
    outbox.sent('t', 10);
    outbox.send('t', snapshot(9));
    outbox.send('t', snapshot(11));
    expect(sent.map((s) => s.version)).toEqual([11]);
  });
});
