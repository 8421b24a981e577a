/**
 * POST /api/query against both backends: embedded chDB and Debian's ClickHouse
 * server (18.16), the same cases on each. A few events are in the history, as
 * the history writer puts them there; analysts read them over HTTP.
 * Under CI=true a missing clickhouse-server fails the run; elsewhere its cases are skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { clickhouseServerInstalled, startTestClickHouse, type TestClickHouse } from '../../test/support/clickhouse-server.ts';
import { at, inventoryReceived, inventoryReserved, orderPlaced, paymentFailed } from '../../test/support/events.ts';
import { HistoryQueryError } from '../history/errors.ts';
import { toEventRow } from '../history/event-row.ts';
import { applyMigrations } from '../history/migrations.ts';
import { openHistoryStore } from '../history/open-store.ts';
import type { HistoryBackend, HistoryStore } from '../history/store.ts';
import { createHttpApp } from '../http/app.ts';
import type { AnalystSql, QueryLimits } from './analyst-sql.ts';
import { openAnalystSql } from './open-analyst.ts';
import { queryRoutes } from './routes.ts';

const withServer = process.env.CI === 'true' || clickhouseServerInstalled();
if (!withServer) console.warn('clickhouse-server is not installed: the server backend cases are skipped (they fail under CI=true)');

const LIMITS: QueryLimits = { maxRows: 100_000, timeoutMs: 1_000, maxMemoryBytes: 256 * 1024 * 1024 };
const SOURCE = '/query';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eventdeck-query-'));
let server: TestClickHouse | undefined;
const backends = new Map<HistoryBackend, { store: HistoryStore; analyst: AnalystSql; app: ReturnType<typeof createHttpApp> }>();
const logged: string[] = [];

const EVENTS: CloudEvent[] = [
  orderPlaced({}, { source: SOURCE, time: at(0) }),
  inventoryReserved({}, { source: SOURCE, time: at(5) }),
  paymentFailed({}, { source: SOURCE, time: at(20) }),
  orderPlaced({ orderId: 'o-2', total: 35.5 }, { source: SOURCE, time: at(61) }),
  inventoryReceived({ qty: 40 }, { source: SOURCE, time: at(90) }),
];

async function setUp(backend: HistoryBackend): Promise<void> {
  const config = backend === 'server' ? { clickhouseUrl: server!.url, dataDir } : { dataDir };
  const store = await openHistoryStore(config);
  await applyMigrations(store);
  await store.insert('events', EVENTS.map((event, index) =>
    toEventRow(event, { partition: index % 4, streamId: `1795687200000-${index}`, acceptedAt: 1795687200000 + index })));
  const analyst = await openAnalystSql(config);
  const app = createHttpApp({
    routes: [['/api/query', queryRoutes({ analyst, config: { query: LIMITS }, log: (line) => logged.push(line) })]],
    log: (line) => logged.push(line),
  });
  backends.set(backend, { store, analyst, app });
}

beforeAll(async () => {
  await setUp('chdb');
  if (withServer) {
    server = await startTestClickHouse();
    await setUp('server');
  }
});

afterAll(async () => {
  for (const { analyst, store } of backends.values()) {
    await analyst.close();
    await store.close();
  }
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe.each(['chdb', 'server'] as const)('POST /api/query on %s', (backend) => {
  const skip = backend === 'server' && !withServer;
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    backends.get(backend)!.app.request('/api/query', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const PER_TYPE = `SELECT type, count() AS events FROM events FINAL WHERE source = '${SOURCE}' GROUP BY type ORDER BY type`;
  const problemOf = async (response: Response) => {
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    return (await response.json()) as Record<string, unknown>;
  };

  it.skipIf(skip)('answers JSON: columns with their types, the rows, and their count', async () => {
    const response = await post({ sql: PER_TYPE });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await response.json();
    expect(body).toMatchObject({
      meta: [{ name: 'type', type: 'String' }, { name: 'events', type: 'UInt64' }],
      data: [
        { type: 'inventory.received', events: 1 },
        { type: 'inventory.reserved', events: 1 },
        { type: 'order.placed', events: 2 },
        { type: 'payment.failed', events: 1 },
      ],
      rows: 4,
    });
  });

  it.skipIf(skip)('answers CSV with a header row, chosen in the body or by Accept', async () => {
    const expected = '"type","events"\n"inventory.received",1\n"inventory.reserved",1\n"order.placed",2\n"payment.failed",1\n';
    const chosen = await post({ sql: PER_TYPE, format: 'csv' });
    expect(chosen.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(await chosen.text()).toBe(expected);
    const negotiated = await post({ sql: PER_TYPE }, { accept: 'text/csv' });
    expect(negotiated.status).toBe(200);
    expect(await negotiated.text()).toBe(expected);
  });

  it.skipIf(skip)('answers NDJSON, one row per line; the body\'s format wins over Accept', async () => {
    const response = await post({ sql: PER_TYPE, format: 'ndjson' }, { accept: 'text/csv' });
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await response.text()).trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines).toEqual([
      { type: 'inventory.received', events: 1 },
      { type: 'inventory.reserved', events: 1 },
      { type: 'order.placed', events: 2 },
      { type: 'payment.failed', events: 1 },
    ]);
  });

  it.skipIf(skip)('streams a large answer whole', async () => {
    const response = await post({ sql: 'SELECT number AS n FROM system.numbers LIMIT 50000', format: 'ndjson' });
    expect(response.status).toBe(200);
    const lines = (await response.text()).trimEnd().split('\n');
    expect(lines).toHaveLength(50_000);
    expect(JSON.parse(lines.at(-1)!)).toEqual({ n: 49_999 });
  });

  it.skipIf(skip)('answers a result of many blocks as one JSON document and one CSV header', async () => {
    // Blocks are at most 65,536 rows (max_block_size, which read-only mode keeps as it is).
    const sql = 'SELECT number AS n FROM system.numbers LIMIT 100000';
    const json = (await (await post({ sql })).json()) as { rows: number; data: unknown[] };
    expect(json).toMatchObject({ rows: 100_000 });
    expect(json.data).toHaveLength(100_000);
    expect(json.data.at(-1)).toEqual({ n: 99_999 });
    const csv = (await (await post({ sql, format: 'csv' })).text()).trimEnd().split('\n');
    expect(csv).toHaveLength(100_001);
    expect(csv.filter((line) => line === '"n"')).toHaveLength(1);
  });

  it.skipIf(skip)('reads SHOW and DESCRIBE too', async () => {
    const tables = await post({ sql: 'SHOW TABLES', format: 'ndjson' });
    expect(await tables.text()).toContain('{"name":"events"}');
    const columns = await post({ sql: 'DESCRIBE TABLE events' });
    expect(((await columns.json()) as { data: unknown[] }).data).toContainEqual(expect.objectContaining({ name: 'time_unix_ms', type: 'UInt64' }));
  });

  it.skipIf(skip)('refuses statements that write or manage, and nothing changes', async () => {
    const before = await post({ sql: 'SELECT count() AS events FROM events', format: 'ndjson' });
    const tablesBefore = await (await post({ sql: 'SHOW TABLES', format: 'csv' })).text();
    for (const sql of [
      `INSERT INTO events (id, source, type) VALUES ('x', '${SOURCE}', 'order.placed')`,
      'CREATE TABLE sneaky (a UInt8) ENGINE = Memory',
      'DROP TABLE events',
      'ALTER TABLE events DELETE WHERE 1',
      'TRUNCATE TABLE events',
      'SYSTEM STOP MERGES',
      'KILL QUERY WHERE 1',
      'SELECT 1; DROP TABLE events',
      "SELECT * FROM events INTO OUTFILE 'events.csv'",
    ]) {
      const response = await post({ sql });
      expect(response.status, sql).toBe(400);
      expect(await problemOf(response), sql).toMatchObject({ type: 'https://eventdeck.dev/problems/read-only', status: 400 });
    }
    expect(await (await post({ sql: 'SELECT count() AS events FROM events', format: 'ndjson' })).text()).toBe(await before.text());
    expect(await (await post({ sql: 'SHOW TABLES', format: 'csv' })).text()).toBe(tablesBefore);
  });

  it.skipIf(skip)('runs read-only in ClickHouse itself, whatever gets past the statement guard', async () => {
    const { analyst, store } = backends.get(backend)!;
    const limits = LIMITS;
    for (const sql of [
      `INSERT INTO events (id, source, type) VALUES ('x', '${SOURCE}', 'order.placed')`,
      'CREATE TABLE sneaky (a UInt8) ENGINE = Memory',
      'DROP TABLE events',
      'SELECT count() AS n FROM events SETTINGS readonly = 0, max_result_rows = 0',
    ]) {
      const attempt = drain(analyst.run(sql, { format: 'JSONEachRow', limits }));
      await expect(attempt, sql).rejects.toThrowError(HistoryQueryError);
      await expect(attempt, sql).rejects.toMatchObject({ clickhouseCode: 164 });
    }
    expect(await store.query('SELECT count() AS events FROM events')).toEqual([{ events: EVENTS.length }]);
  });

  it.skipIf(skip)('refuses a result with more rows than the bound, saying which bound', async () => {
    const response = await post({ sql: 'SELECT id FROM events', maxRows: 2 });
    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem).toMatchObject({ type: 'https://eventdeck.dev/problems/too-many-rows', maxRows: 2 });
    expect(problem.detail).toMatch(/more than 2 rows/);
    // Within the bound, the same query answers.
    expect((await post({ sql: 'SELECT id FROM events', maxRows: EVENTS.length })).status).toBe(200);
    // A request may lower the configured bound, never raise it.
    const raised = await post({ sql: 'SELECT 1 AS x', maxRows: LIMITS.maxRows + 1 });
    expect(raised.status).toBe(400);
    expect(await problemOf(raised)).toMatchObject({ type: 'https://eventdeck.dev/problems/bad-request' });
  });

  it.skipIf(skip)('cuts off an answer that passes the bound after it started, rather than end it as if complete', async () => {
    // Rows of 200 bytes: a first block fills every buffer on the way, so the answer starts before the bound is passed.
    const pad = 'x'.repeat(200);
    const response = await post({ sql: `SELECT number AS n, '${pad}' AS pad FROM system.numbers LIMIT 400000`, format: 'ndjson' });
    // Whether ClickHouse fails before or after the first 64 KiB are in hand depends on its buffers: either is
    // right, as long as a failed answer never ends like a complete one.
    if (response.status === 200) {
      await expect(response.text()).rejects.toThrowError();
      // (On a busy machine the 1 s timeout of these tests may come first: the answer is cut all the same.)
      expect(logged.at(-1)).toMatch(/answer failed after it started.*(Limit for result exceeded|Timeout exceeded)/);
    } else {
      expect(await problemOf(response)).toMatchObject({ type: 'https://eventdeck.dev/problems/too-many-rows' });
    }
  });

  it.skipIf(skip)('gives ClickHouse\'s own message for a syntax error or an unknown column', async () => {
    const syntax = await post({ sql: 'SELECT FROM WHERE' });
    expect(syntax.status).toBe(422);
    const problem = await problemOf(syntax);
    expect(problem).toMatchObject({ type: 'https://eventdeck.dev/problems/invalid-query', clickhouseCode: 62 });
    expect(problem.detail).toMatch(/^Syntax error/);
    const unknown = await post({ sql: 'SELECT no_such_column FROM events' });
    expect(unknown.status).toBe(422);
    expect(await problemOf(unknown)).toMatchObject({ clickhouseCode: 47, detail: expect.stringMatching(/no_such_column/) });
  });

  it.skipIf(skip)('stops a query that runs too long', async () => {
    const response = await post({ sql: 'SELECT count() AS n FROM system.numbers' });
    expect(response.status).toBe(504);
    expect(await problemOf(response)).toMatchObject({ type: 'https://eventdeck.dev/problems/query-timeout', timeoutMs: LIMITS.timeoutMs });
  });

  it.skipIf(skip)('stops a query that needs more memory than allowed', async () => {
    const response = await post({
      // 100 kB strings: 256 MiB are passed after about 2,600 rows, far within the time bound even on a busy machine.
      sql: `SELECT groupArray(concat(toString(number), '${'x'.repeat(100_000)}')) AS all_numbers
            FROM (SELECT number FROM system.numbers LIMIT 1000000)`,
    });
    expect(response.status).toBe(422);
    expect(await problemOf(response)).toMatchObject({
      type: 'https://eventdeck.dev/problems/query-memory', maxMemoryBytes: LIMITS.maxMemoryBytes, clickhouseCode: 241,
    });
  });

  it.skipIf(skip)('refuses a body it cannot read', async () => {
    for (const body of ['not json', '{}', JSON.stringify({ sql: '  ' }), JSON.stringify({ sql: 'SELECT 1', format: 'xml' })]) {
      const response = await post(body);
      expect(response.status, body).toBe(400);
      expect(await problemOf(response), body).toMatchObject({ type: 'https://eventdeck.dev/problems/bad-request' });
    }
  });
});

describe('POST /api/query on a ClickHouse server that goes away', () => {
  it.skipIf(!withServer)('answers 503 while it is down', async () => {
    await server!.kill();
    try {
      const response = await backends.get('server')!.app.request('/api/query', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: 'SELECT 1 AS x' }),
      });
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ type: 'https://eventdeck.dev/problems/unavailable', retryable: true });
    } finally {
      await server!.start();
    }
  });
});

async function drain(output: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of output) {
    // only the outcome matters
  }
}
