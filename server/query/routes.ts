/**
 * POST /api/query: one read-only SQL statement against the history, answered
 * as JSON, CSV or NDJSON (docs/http.md). The answer streams; it starts once
 * the first 64 KiB (or the whole result, if smaller) are in hand, so a query
 * that fails at once (syntax, read-only, a bound passed in its first block)
 * gets a problem document with the right status. A failure after the answer
 * has started cannot change the status: the response is then cut off (the
 * chunked body never ends properly), never passed off as a complete result.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { ProblemError } from '../http/problem.ts';
import type { AnalystSql } from './analyst-sql.ts';
import { chooseFormat, FORMAT_OUTPUT, QUERY_FORMATS } from './formats.ts';
import { queryProblem } from './query-problems.ts';
import { checkReadOnlyStatement } from './statement-guard.ts';
import { zodIssues } from '../http/zod-issues.ts';

export interface QueryDeps {
  analyst: AnalystSql;
  config: Pick<Config, 'query'>;
  log: (line: string) => void;
}

/** Larger bodies are refused: SQL this long is a mistake (or data that belongs in POST /api/events). */
export const MAX_QUERY_BODY_BYTES = 256 * 1024;

/** How much of the answer is held before the response starts (see above). */
const HEAD_BYTES = 64 * 1024;

const requestSchema = z.strictObject({
  sql: z.string(),
  format: z.enum(QUERY_FORMATS).optional(),
  maxRows: z.number().int().min(1).optional(),
});

export function queryRoutes(deps: QueryDeps): Hono {
  const { maxRows, timeoutMs, maxMemoryBytes } = deps.config.query;
  const app = new Hono();
  app.post(
    '/',
    bodyLimit({
      maxSize: MAX_QUERY_BODY_BYTES,
      onError: () => {
        throw new ProblemError('tooLarge', 413, `The body is over the limit of ${MAX_QUERY_BODY_BYTES} bytes.`);
      },
    }),
    async (c) => {
      const request = parseRequest(c.req.header('content-type'), await c.req.text());
      if (request.maxRows !== undefined && request.maxRows > maxRows) {
        throw new ProblemError('badRequest', 400, `maxRows may be at most ${maxRows} (EVENTDECK_QUERY_MAX_ROWS).`, { maxRows });
      }
      const guard = checkReadOnlyStatement(request.sql);
      if (!guard.ok) throw new ProblemError(guard.kind === 'not-read-only' ? 'readOnly' : 'badRequest', 400, guard.reason);
      const format = chooseFormat(request.format, c.req.header('accept'));
      const limits = { maxRows: request.maxRows ?? maxRows, timeoutMs, maxMemoryBytes };
      const output = deps.analyst
        .run(guard.statement, { format: FORMAT_OUTPUT[format].clickhouse, limits, signal: c.req.raw.signal })
        [Symbol.asyncIterator]();
      let head;
      try {
        head = await readHead(output);
      } catch (error) {
        throw queryProblem(error, limits);
      }
      return new Response(streamOf(output, head, (error) => deps.log(`query: the answer failed after it started: ${String(error)}`)), {
        status: 200,
        headers: {
          'content-type': FORMAT_OUTPUT[format].contentType,
          'cache-control': 'no-store',
          vary: 'Accept',
        },
      });
    },
  );
  return app;
}

function parseRequest(contentType: string | undefined, text: string): z.infer<typeof requestSchema> {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== undefined && mediaType !== 'application/json') {
    throw new ProblemError('unsupportedMediaType', 415, `Send the query as application/json, not ${mediaType}.`, {
      accepted: ['application/json'],
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ProblemError('badRequest', 400, 'The body is not JSON; send {"sql": "SELECT …", "format": "json" | "csv" | "ndjson"}.');
  }
  const parsed = requestSchema.safeParse(body);
  if (!parsed.success) {
    throw new ProblemError('badRequest', 400, `Invalid query request: ${zodIssues(parsed.error, 'body')}`);
  }
  return parsed.data;
}

interface Head {
  chunks: Uint8Array[];
  done: boolean;
}

async function readHead(output: AsyncIterator<Uint8Array>): Promise<Head> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  while (bytes < HEAD_BYTES) {
    const next = await output.next();
    if (next.done) return { chunks, done: true };
    chunks.push(next.value);
    bytes += next.value.byteLength;
  }
  return { chunks, done: false };
}

/** The held head, then the rest as the reader pulls it; an error mid-way errors the body (the connection is cut). */
function streamOf(output: AsyncIterator<Uint8Array>, head: Head, onError: (error: unknown) => void): ReadableStream<Uint8Array> {
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of head.chunks) controller.enqueue(chunk);
      if (head.done) controller.close();
    },
    async pull(controller) {
      let next;
      try {
        next = await output.next();
      } catch (error) {
        if (cancelled) return;
        onError(error);
        controller.error(error);
        return;
      }
      // A chunk that arrives after the reader left has nowhere to go.
      if (cancelled) return;
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      // The reader went away: end the query and free its connection.
      cancelled = true;
      await output.return?.();
    },
  });
}
