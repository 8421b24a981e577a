/**
 * Dark (the wall-screen default) or light. The first visit follows the
 * system's prefers-color-scheme; a toggle is remembered in localStorage.
 * The CSS reads `data-theme` on <html>, which this module sets as it loads.
 */
export type Theme = 'dark' | 'light';

const STORAGE_KEY = 'eventdeck:theme';

function stored(): Theme | null {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return value === 'dark' || value === 'light' ? value : null;
  } catch {
    return null; // SecurityError: storage blocked (e.g. a sandboxed iframe)
  }
}

function system(): Theme {
  return matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

export class ThemePreference {
  current = $state<Theme>(stored() ?? system());

  constructor() {
    this.#apply();
  }

  toggle(): void {
    this.current = this.current === 'dark' ? 'light' : 'dark';
    try {
      localStorage.setItem(STORAGE_KEY, this.current);
    } catch {
      // SecurityError: storage blocked; the choice lasts for this page only.
    }
    this.#apply();
  }

  /** For one page only (an embed's `?theme=`): not remembered. */
  force(theme: Theme): void {
    this.current = theme;
    this.#apply();
  }

  #apply(): void {
    document.documentElement.dataset.theme = this.current;
  }
}

export const theme = new ThemePreference();
