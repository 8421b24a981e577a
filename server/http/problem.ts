/**
 * RFC 9457 problem documents: every error EventDeck answers over HTTP.
 * Routes throw a ProblemError (or return problem()); one funnel renders them.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** One item of a problem's `errors`: which event (by index) and where in it. */
export interface ProblemItem {
  index?: number;
  /** JSON pointer (RFC 6901) into the event, e.g. "/data/items/0/qty". */
  pointer: string;
  detail: string;
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: ProblemItem[];
  [extension: string]: unknown;
}

/** The problem types EventDeck answers with, documented in docs/http.md. */
export const PROBLEM_TYPES = {
  badRequest: { slug: 'bad-request', title: 'The request could not be read' },
  invalidEvents: { slug: 'invalid-events', title: 'One or more events are invalid' },
  tooLarge: { slug: 'too-large', title: 'The request is too large' },
  unsupportedMediaType: { slug: 'unsupported-media-type', title: 'Unsupported content type' },
  unauthorized: { slug: 'unauthorized', title: 'Authentication is required' },
  forbidden: { slug: 'forbidden', title: 'Not allowed' },
  tooManyRequests: { slug: 'too-many-requests', title: 'Too many requests' },
  notFound: { slug: 'not-found', title: 'Not found' },
  conflict: { slug: 'conflict', title: 'The request conflicts with the current state' },
  notImplemented: { slug: 'not-implemented', title: 'Not available in this deployment' },
  unavailable: { slug: 'unavailable', title: 'A service EventDeck needs is unavailable' },
  internal: { slug: 'internal', title: 'Internal error' },
  readOnly: { slug: 'read-only', title: 'Only reading statements run here' },
  invalidQuery: { slug: 'invalid-query', title: 'ClickHouse rejected the query' },
  tooManyRows: { slug: 'too-many-rows', title: 'The result has more rows than allowed' },
  queryTimeout: { slug: 'query-timeout', title: 'The query ran too long' },
  queryMemory: { slug: 'query-memory', title: 'The query needs more memory than allowed' },
} as const;
export type ProblemKind = keyof typeof PROBLEM_TYPES;

export function problemDocument(
  kind: ProblemKind,
  status: number,
  detail?: string,
  extensions: Record<string, unknown> = {},
): ProblemDocument {
  const { slug, title } = PROBLEM_TYPES[kind];
  return { type: `https://eventdeck.dev/problems/${slug}`, title, status, ...(detail ? { detail } : {}), ...extensions };
}

/** An expected failure that ends a request with a problem document. */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  readonly document: ProblemDocument;
  /** Extra response headers, e.g. Connection: close after a body left unread. */
  headers: Record<string, string> = {};
  constructor(kind: ProblemKind, status: ContentfulStatusCode, detail?: string, extensions?: Record<string, unknown>) {
    super(detail ?? PROBLEM_TYPES[kind].title);
    this.document = problemDocument(kind, status, detail, extensions);
  }
}

export function problemResponse(c: Context, document: ProblemDocument, headers: Record<string, string> = {}): Response {
  return c.body(JSON.stringify({ instance: c.req.path, ...document }), document.status as ContentfulStatusCode, {
    'content-type': PROBLEM_CONTENT_TYPE,
    ...headers,
  });
}
