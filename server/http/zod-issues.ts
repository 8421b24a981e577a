/** A zod validation failure in one line for a problem's `detail`: `path: message; …`, `root` naming an issue without a path. */
import type { z } from 'zod';

export function zodIssues(error: z.ZodError, root: string): string {
  return error.issues.map((i) => `${i.path.join('.') || root}: ${i.message}`).join('; ');
}
