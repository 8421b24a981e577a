/**
 * The sending side of a form dialog (acknowledge, discard, compensate): one
 * request at a time, its refusal kept to show as the server worded it (the
 * dialog stays open), and its answer ignored once the dialog is closed.
 */
import type { Fetched, Problem } from './api.ts';

export class DialogSubmission {
  problem = $state.raw<Problem | null>(null);
  sending = $state(false);
  #abort: AbortController | null = null;

  /** A fresh start, when the dialog opens. */
  reset(): void {
    this.problem = null;
    this.sending = false;
  }

  /** Sends, unless a request is under way; hands the answer to `done`, or keeps the problem. */
  async send<T>(request: (signal: AbortSignal) => Promise<Fetched<T>>, done: (value: T) => void): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    this.problem = null;
    const abort = (this.#abort = new AbortController());
    try {
      const answer = await request(abort.signal);
      if (abort.signal.aborted) return;
      if (answer.ok) done(answer.value);
      else this.problem = answer.problem;
    } catch (error) {
      if (!abort.signal.aborted) throw error; // AbortError: the dialog was closed, and nobody waits for the answer
    } finally {
      this.sending = false;
    }
  }

  /** The dialog closed: whatever its request answers is of no interest any more. */
  abandon(): void {
    this.#abort?.abort();
  }
}
