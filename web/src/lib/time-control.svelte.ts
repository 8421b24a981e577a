/**
 * The header's time control: live, or the views as of a past moment (fetched
 * over REST with `?asOf=`). The server may refuse as-of (501 before the history
 * store exists); the first refusal's detail is kept here for one clear banner
 * instead of one per widget.
 */
import type { Problem } from './api.ts';

export class TimeControl {
  /** The `datetime-local` value (local time, no zone), or '' when live. */
  asOfLocal = $state('');
  problem = $state.raw<Problem | null>(null);

  /** The as-of moment as RFC 3339 (UTC), or null when live or not a valid time. */
  get asOf(): string | null {
    if (!this.asOfLocal) return null;
    const ms = new Date(this.asOfLocal).getTime();
    return Number.isNaN(ms) ? null : new Date(ms).toISOString();
  }

  get isLive(): boolean {
    return this.asOf === null;
  }

  setAsOf(local: string): void {
    if (local === this.asOfLocal) return;
    this.asOfLocal = local;
    this.problem = null;
  }

  /** From an RFC 3339 time (e.g. `?asOf=` of an embed URL). */
  setAsOfIso(iso: string): void {
    const ms = Date.parse(iso);
    if (!Number.isNaN(ms)) this.setAsOf(toLocalInput(ms));
  }

  goLive(): void {
    this.setAsOf('');
  }

  report(problem: Problem): void {
    this.problem ??= problem;
  }
}

/** A time as a `datetime-local` value in the browser's zone (that input has no zone). */
export function toLocalInput(ms: number): string {
  const date = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export const timeControl = new TimeControl();
