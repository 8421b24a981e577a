/** The HTTP server of a process: HTTP, or HTTPS with the configured certificate. */
import { serve, type ServerType } from '@hono/node-server';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { Config } from '../config.ts';

export function listen(fetch: Parameters<typeof serve>[0]['fetch'], hostname: string, port: number, tls: Config['tls']): Promise<ServerType> {
  // The files are read once, at start.
  const https = tls ? { createServer: createHttpsServer, serverOptions: { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } } : {};
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port, ...https }, () => resolve(server));
    server.once('error', reject);
  });
}

export function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets would hold close() open; end idle ones now.
    if ('closeIdleConnections' in server) server.closeIdleConnections();
  });
}
