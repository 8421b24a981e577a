/**
 * Who acknowledges alerts from this browser in local mode, where nobody signs
 * in (signed in, the server names the caller itself): the name typed once is
 * remembered here and offered again, so an operator types it once per browser.
 */
const STORAGE_KEY = 'eventdeck:operator-name';

export function rememberedName(): string {
  try {
    return localStorage.getItem(STORAGE_KEY) ?? '';
  } catch {
    return ''; // SecurityError: storage blocked (e.g. a sandboxed iframe)
  }
}

export function rememberName(name: string): void {
  try {
    localStorage.setItem(STORAGE_KEY, name);
  } catch {
    // SecurityError: storage blocked; the name is asked again next time.
  }
}
