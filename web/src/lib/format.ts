/**
 * Numbers, money and times for people: always through Intl with the browser's
 * locale, so a wall screen in Berlin and a laptop in Boston each read naturally.
 * Formatters are cached: building one is costly and tables format thousands of cells.
 */

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();

function numberFormat(key: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  let format = cache.get(key) as Intl.NumberFormat | undefined;
  if (!format) cache.set(key, (format = new Intl.NumberFormat(undefined, options)));
  return format;
}

function dateFormat(key: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  let format = cache.get(key) as Intl.DateTimeFormat | undefined;
  if (!format) cache.set(key, (format = new Intl.DateTimeFormat(undefined, options)));
  return format;
}

export const formatCount = (n: number): string => numberFormat('count', { maximumFractionDigits: 0 }).format(n);

/** A measured value of unknown kind (stock, a rate, seconds): whole numbers stay whole, fractions keep three digits. */
export const formatNumber = (n: number): string => numberFormat('number', { maximumFractionDigits: 3 }).format(n);

export function formatMoney(amount: number | null | undefined, currency: string | null | undefined): string {
  if (amount === null || amount === undefined) return '—';
  if (!currency) return numberFormat('plain', { maximumFractionDigits: 2 }).format(amount);
  try {
    return numberFormat(`money:${currency}`, { style: 'currency', currency }).format(amount);
  } catch {
    // RangeError: a currency code Intl does not know; show the amount with the code.
    return `${numberFormat('plain', { maximumFractionDigits: 2 }).format(amount)} ${currency}`;
  }
}

/** Big totals on tiles: compact ("€1.2M") so they fit a tile at any width. */
export function formatMoneyCompact(amount: number, currency: string): string {
  try {
    return numberFormat(`money-compact:${currency}`, {
      style: 'currency', currency, notation: 'compact', maximumFractionDigits: 1,
    }).format(amount);
  } catch {
    return `${numberFormat('compact', { notation: 'compact', maximumFractionDigits: 1 }).format(amount)} ${currency}`;
  }
}

export function formatPercent(ratio: number | null): string {
  if (ratio === null) return '—';
  return numberFormat('percent', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(ratio);
}

export function formatTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return dateFormat('time', { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(date);
}

/** Hours and minutes only: chart axes over one hour need no more. */
export function formatClock(ms: number): string {
  return dateFormat('clock', { hour: '2-digit', minute: '2-digit' }).format(new Date(ms));
}

export function formatDateTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return dateFormat('datetime', { dateStyle: 'medium', timeStyle: 'medium' }).format(date);
}

/** A duration as its two largest units ("2 min 5 s", "1 h 3 min"), for waits and gaps between steps. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const sign = ms < 0 ? '−' : '';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${formatCount(Math.round(rest))} ms`;
  const units: Array<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000]];
  const first = units.findIndex(([, size]) => rest >= size);
  const parts: string[] = [];
  for (const [name, size] of units.slice(first, first + 2)) {
    const amount = Math.floor(rest / size);
    rest -= amount * size;
    if (amount > 0) parts.push(`${formatCount(amount)} ${name}`);
  }
  return sign + parts.join(' ');
}
