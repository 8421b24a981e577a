/**
 * Who is signed in (`GET /api/me`), signing in and out, and what the caller
 * may do, so pages offer only that. In local mode (`kind: "local"`) the one
 * caller has every right and nobody signs in. The server stays the authority:
 * a hidden button is a courtesy, its 403 is the rule.
 */
import type { Me } from '../../../shared/access.ts';
import { fetchMe, type Problem } from './api.ts';
import { credentials, type Credentials } from './credentials.svelte.ts';

export class Session {
  /** The caller, once known; null before the first answer and while signed out. */
  me = $state.raw<Me | null>(null);
  /** False until the first answer of /api/me (pages wait for it, so none starts with the wrong credential). */
  checked = $state(false);

  constructor(private readonly creds: Credentials = credentials) {}

  /** Asks who this page's credential is; a 401 is reported by api.ts and opens the sign-in dialog. */
  async start(): Promise<void> {
    const answer = await fetchMe();
    // Any other failure (server unreachable) leaves the pages to say so; the server still checks each call.
    this.me = answer.ok ? answer.value : null;
    this.checked = true;
  }

  /** Signed out, or refused: pages hold no data until a credential is accepted. */
  get signedOut(): boolean {
    return this.creds.refusal !== null;
  }

  /** Whether people sign in here (a credential was asked for or accepted): false in local mode. */
  get enforced(): boolean {
    return this.signedOut || (this.me !== null && this.me.kind !== 'local');
  }

  /** Tries a pasted API key or JWT; keeps it only if the server accepts it. Answers the refusal, if any. */
  async signIn(token: string): Promise<Problem | null> {
    const answer = await fetchMe(token);
    if (!answer.ok) return answer.problem;
    this.me = answer.value;
    this.creds.replace(token);
    return null;
  }

  signOut(): void {
    this.me = null;
    this.creds.replace(null, { status: 401, detail: 'You signed out.' });
  }

  /** Whether the caller has this right; unknown (the server could not be asked) counts as yes: the server decides. */
  can(right: string): boolean {
    return this.me === null || this.me.rights.includes(right);
  }

  /**
   * Whether to offer a page or an action that needs this right and, with
   * `everyWarehouse`, shows data of every warehouse (refused to a caller limited to some).
   */
  offers({ right, everyWarehouse = false }: { right?: string; everyWarehouse?: boolean }): boolean {
    return (right === undefined || this.can(right)) && !(everyWarehouse && this.warehouses !== undefined);
  }

  /** The warehouses the caller is limited to; undefined: all. */
  get warehouses(): readonly string[] | undefined {
    return this.me?.warehouses;
  }

  /**
   * The warehouse a page filters by when none is chosen: none for an unscoped
   * caller; a scoped one must name one of its own (an unfiltered view would show the others).
   */
  defaultWarehouse(chosen: string): string {
    return chosen || (this.warehouses?.[0] ?? '');
  }
}

/** The one session of this page. */
export const session = new Session();
