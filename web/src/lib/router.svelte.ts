/**
 * Client-side routing by path with the History API. Same-origin links are
 * taken over by one click listener, so pages use plain <a href> (real links:
 * they open in a new tab, show their target and work by keyboard).
 */
import { matchRoute, type Route } from './routes.ts';

export class Router {
  path = $state(location.pathname);
  search = $state(location.search);

  constructor() {
    addEventListener('popstate', () => this.#sync());
  }

  get route(): Route {
    return matchRoute(this.path);
  }

  get query(): URLSearchParams {
    return new URLSearchParams(this.search);
  }

  navigate(href: string, options: { replace?: boolean } = {}): void {
    const url = new URL(href, location.href);
    if (url.pathname + url.search === location.pathname + location.search) return;
    if (options.replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    this.#sync();
  }

  /** Replaces the query (filters kept in the URL so a wall screen's page can be bookmarked). */
  setQuery(params: Record<string, string>): void {
    const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== ''));
    const search = query.toString();
    this.navigate(`${location.pathname}${search ? `?${search}` : ''}`, { replace: true });
  }

  /** For a document click listener: follows same-origin links without reloading. */
  intercept(event: MouseEvent): void {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    // An embedded widget's links open the app in a new tab (its <base target>), not inside the iframe.
    if (location.pathname.startsWith('/embed/')) return;
    const anchor = (event.target as Element | null)?.closest?.('a');
    if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
    const url = new URL(anchor.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
    if (url.pathname === location.pathname && url.hash) return; // in-page links (the skip link) stay native
    event.preventDefault();
    this.navigate(url.pathname + url.search);
  }

  #sync(): void {
    this.path = location.pathname;
    this.search = location.search;
  }
}

export const router = new Router();
