/** A request's JSON body, validated: or a 400 problem saying how to send it and what was wrong. */
import type { Context } from 'hono';
import type { z } from 'zod';
import { ProblemError } from './problem.ts';
import { zodIssues } from './zod-issues.ts';

/** `usage` opens the detail, e.g. 'Send {"reason": "…"} as JSON'; a body that is not JSON reads as none. */
export async function jsonBody<T>(c: Context, schema: z.ZodType<T>, usage: string): Promise<T> {
  const parsed = schema.safeParse(await c.req.json().catch(() => undefined));
  if (!parsed.success) throw new ProblemError('badRequest', 400, `${usage}: ${zodIssues(parsed.error, 'body')}`);
  return parsed.data;
}
