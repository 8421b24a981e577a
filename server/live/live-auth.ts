/**
 * Who is on the other end of a live socket, and whether they still may be.
 *
 * The handshake's `auth.token` is checked by a namespace middleware, which
 * Socket.IO runs on every connection and every reconnection (connection state
 * recovery stays off: with `skipMiddlewares` a recovered session would not be
 * checked again). A connection lasts longer than a credential may: every
 * subscribe checks the expiry, and re-checks the credential itself (a revoked
 * key) when the last check is older than `recheckAfterMs`.
 */
import type { Socket } from 'socket.io';
import { problemDocument, ProblemError } from '../http/problem.ts';
import type { Principal } from '../auth/principal.ts';

/** Turns a handshake token into a caller, or throws a ProblemError (401, or 503 when it cannot be checked now). */
export type LiveAuthenticate = (token: string | undefined) => Promise<Principal>;

/** What the hub keeps in `socket.data`: only the caller, never the credential (the Redis adapter may copy socket.data to other nodes). */
export interface LiveSocketData {
  principal: Principal;
}

/** The refusal a client receives as `connect_error`: `message` is the problem's detail. */
export interface LiveAuthRefusal extends Error {
  data: { status: number; type: string };
}

/** The room of every socket of one caller, on every node, so they can be disconnected together. */
export const principalRoom = (kind: Principal['kind'], id: string): string => `principal:${kind}:${id}`;

export type Recheck = { ok: true; principal: Principal } | { ok: false; error: string; /** the credential is no good: end the connection */ final: boolean };

/** The credential of one socket: its token (kept in this process only) and when it was last proved good. */
export class LiveCredential {
  #principal: Principal;
  #checkedAt: number;
  #checking: Promise<Recheck> | undefined;

  constructor(
    private readonly token: string | undefined,
    principal: Principal,
    private readonly authenticate: LiveAuthenticate,
    private readonly recheckAfterMs: number,
    private readonly now: () => number,
    private readonly log: (line: string) => void,
  ) {
    this.#principal = principal;
    this.#checkedAt = now();
  }

  get principal(): Principal {
    return this.#principal;
  }

  /** Whether the credential is still good: expiry every time, the credential itself once the last check is old. */
  async recheck(): Promise<Recheck> {
    const expired = expiryRefusal(this.#principal, this.now());
    if (expired) return { ok: false, error: expired, final: true };
    if (this.#principal.kind === 'local' || this.now() - this.#checkedAt < this.recheckAfterMs) return { ok: true, principal: this.#principal };
    // One check at a time: a dashboard subscribes to several views at once.
    this.#checking ??= this.#authenticateAgain().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #authenticateAgain(): Promise<Recheck> {
    try {
      const principal = await this.authenticate(this.token);
      this.#principal = principal;
      this.#checkedAt = this.now();
      return { ok: true, principal };
    } catch (error) {
      const refusal = toRefusal(error, this.log);
      // 401: the credential was revoked or rotated away. Anything else (503): we could not tell; refuse this subscribe only.
      return { ok: false, error: refusal.message, final: refusal.data.status === 401 };
    }
  }
}

export function expiryRefusal(principal: Principal, now: number): string | undefined {
  if (principal.expiresAt === undefined || now < principal.expiresAt) return undefined;
  return `The credential expired at ${new Date(principal.expiresAt).toISOString()}; connect again with a new one.`;
}

/**
 * The `/live` middleware: authenticates the handshake token, keeps the credential
 * for the later checks, and puts the caller in `socket.data.principal`.
 */
export function liveAuthMiddleware(
  options: { authenticate: LiveAuthenticate; recheckAfterMs: number; now: () => number; log: (line: string) => void },
  credentials: WeakMap<Socket, LiveCredential>,
): (socket: Socket, next: (error?: Error) => void) => void {
  return (socket, next) => {
    const raw = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const token = typeof raw === 'string' && raw !== '' ? raw : undefined;
    // Promise.resolve().then: a synchronous throw is refused like a rejection, never escapes into Socket.IO.
    Promise.resolve()
      .then(() => options.authenticate(token))
      .then(
        (principal) => {
          const expired = expiryRefusal(principal, options.now());
          if (expired) return next(refusal(expired, 401, problemDocument('unauthorized', 401).type));
          (socket.data as LiveSocketData).principal = principal;
          credentials.set(socket, new LiveCredential(token, principal, options.authenticate, options.recheckAfterMs, options.now, options.log));
          next();
        },
        (error: unknown) => next(toRefusal(error, options.log)),
      );
  };
}

/** A ProblemError as the client will see it; anything else is our fault, logged and answered as a 500. */
function toRefusal(error: unknown, log: (line: string) => void): LiveAuthRefusal {
  if (error instanceof ProblemError) {
    return refusal(error.document.detail ?? error.document.title, error.document.status, error.document.type);
  }
  log(`live: authentication failed unexpectedly: ${(error as Error)?.message ?? String(error)}`);
  const internal = problemDocument('internal', 500);
  return refusal('The credential could not be checked; try again.', 500, internal.type);
}

function refusal(message: string, status: number, type: string): LiveAuthRefusal {
  return Object.assign(new Error(message), { data: { status, type } });
}
