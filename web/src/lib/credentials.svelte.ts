/**
 * The credential this page sends: an API key or a JWT the user pasted (kept
 * in sessionStorage, so it lasts for this tab and never lands in a URL, a log
 * or another tab), or, on an embed page, the embed token of its URL (never
 * stored). api.ts sends it with every request, live.svelte.ts with every
 * (re)connection; both report here when the server refuses it (401), which is
 * what opens the sign-in dialog (or, in an embed, the widget's message).
 */
const STORAGE_KEY = 'eventdeck:credential';

/** Why the server wants a (new) credential. */
export interface Refusal {
  /** 401; 503 when a JWT cannot be checked right now. */
  status: number;
  /** The server's reason (expired, revoked, …); null when nothing was presented, so there is nothing to explain. */
  detail: string | null;
}

function stored(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // SecurityError: storage blocked (e.g. a sandboxed iframe)
  }
}

function store(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(STORAGE_KEY, token);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // SecurityError: storage blocked; the credential lasts until this page is left.
  }
}

export class Credentials {
  #token = $state<string | null>(null);
  /** Set by the last refusal; cleared by a new credential. */
  refusal = $state.raw<Refusal | null>(null);
  /** Whether the sign-in dialog should be open (a refusal opens it; Esc closes it; "Sign in" opens it again). */
  asking = $state(false);
  /** An embed page: its URL's token, which is neither stored nor replaced by signing in. */
  embedded = false;
  readonly #listeners = new Set<() => void>();

  constructor(initial: string | null = stored()) {
    this.#token = initial;
  }

  get token(): string | null {
    return this.#token;
  }

  /** An embed page's token (from its `?token=`); for this page only. */
  useEmbedToken(token: string | null): void {
    this.embedded = true;
    this.#token = token;
  }

  /** A credential the server accepted (or none, to sign out): stored, and every connection told. */
  replace(token: string | null, why: Refusal | null = null): void {
    this.#token = token;
    if (!this.embedded) store(token);
    this.refusal = why;
    this.asking = why !== null;
    for (const listener of this.#listeners) listener();
  }

  /**
   * The server refused `used` (status and its problem's detail). A refusal of a
   * credential that has since been replaced is old news; without a credential
   * there is no reason to show, and one already shown (e.g. "You signed out") stays.
   */
  refuse(status: number, detail: string, used: string | null): void {
    if (used !== this.#token) return;
    if (used === null && this.refusal) return;
    this.refusal = { status, detail: used === null ? null : detail };
    if (!this.embedded) this.asking = true;
  }

  /** Called after each replace(): the live connection reconnects with the new credential. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** The one credential of this page. */
export const credentials = new Credentials();
