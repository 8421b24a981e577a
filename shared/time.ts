/**
 * Event times on the hot paths. Almost every time EventDeck sees was written by
 * toISOString ("YYYY-MM-DDThh:mm:ss.sssZ"): those are read by their digits,
 * several times faster than Date.parse, which a projected event used to call
 * half a dozen times. Any other spelling goes to Date.parse, and the answer is
 * Date.parse's in every case.
 */

/** True for "YYYY-MM-DDThh:mm:ss.sssZ" (separators checked; digits by the caller). */
export function isIsoUtc(time: string): boolean {
  return time.length === 24 && time.charCodeAt(23) === 90 /* Z */ && time.charCodeAt(10) === 84 /* T */ &&
    time.charCodeAt(19) === 46 /* . */ && time.charCodeAt(4) === 45 && time.charCodeAt(7) === 45 &&
    time.charCodeAt(13) === 58 && time.charCodeAt(16) === 58;
}

/** Date.parse(time), faster for times as toISOString writes them. */
export function parseTime(time: string): number {
  if (!isIsoUtc(time)) return Date.parse(time);
  const year = digits(time, 0, 4);
  const month = digits(time, 5, 2);
  const day = digits(time, 8, 2);
  const hour = digits(time, 11, 2);
  const minute = digits(time, 14, 2);
  const second = digits(time, 17, 2);
  const ms = digits(time, 20, 3);
  // Out of range (or not digits): Date.parse decides, as it does for any other spelling. In range,
  // Date.UTC rolls a day past the month's end over as Date.parse does ("02-30" is 2 March); it reads
  // years below 100 as 19xx, so those go to Date.parse too.
  if (!(year >= 100 && month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 59 && ms >= 0)) {
    return Date.parse(time);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

/** The number written by `length` decimal digits from `at`, or NaN. */
function digits(text: string, at: number, length: number): number {
  let value = 0;
  for (let i = at; i < at + length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
}
