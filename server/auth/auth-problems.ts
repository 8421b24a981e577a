/**
 * The problem documents of authentication and authorization: 401 with a
 * Bearer challenge, 403, and 429 with Retry-After. They are ProblemErrors, so
 * the one error funnel (server/http/app.ts) renders them with their headers.
 */
import { ProblemError } from '../http/problem.ts';

/** The realm named in every WWW-Authenticate challenge. */
export const REALM = 'eventdeck';

/**
 * 401 with a Bearer challenge (RFC 6750 section 3): no error code when nothing was
 * sent, `invalid_token` when a credential was sent and refused.
 */
export function unauthorized(detail: string, presented: boolean): ProblemError {
  // error_description allows printable ASCII but for quote and backslash (RFC 6750 section 3).
  const quoted = detail.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, ' ');
  const challenge = presented
    ? `Bearer realm="${REALM}", error="invalid_token", error_description="${quoted}"`
    : `Bearer realm="${REALM}"`;
  return withHeaders(new ProblemError('unauthorized', 401, detail), { 'WWW-Authenticate': challenge });
}

export function forbidden(detail: string, extensions: Record<string, unknown> = {}): ProblemError {
  return new ProblemError('forbidden', 403, detail, extensions);
}

export function tooManyRequests(detail: string, retryAfterSeconds: number): ProblemError {
  return withHeaders(new ProblemError('tooManyRequests', 429, detail, { retryAfterSeconds }), { 'Retry-After': String(retryAfterSeconds) });
}

function withHeaders(problem: ProblemError, headers: Record<string, string>): ProblemError {
  problem.headers = headers;
  return problem;
}
