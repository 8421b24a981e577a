/**
 * `<eventdeck-view>`: one EventDeck widget in a portal page, as a custom
 * element. Built as its own script (`/eventdeck-view.js`, see vite.config.ts);
 * a portal loads it from the EventDeck whose widget it shows:
 *
 *   <script type="module" src="https://eventdeck.internal/eventdeck-view.js"></script>
 *   <eventdeck-view view="inventory" filter-warehouse-id="w1" token="…"></eventdeck-view>
 *
 * It renders an iframe of `<that EventDeck>/embed/<view>?<filter>&theme=&token=`
 * filling the element (which is a block, as wide as its container; give it a
 * height), and renders again when an attribute changes. The filter is the
 * `filter` attribute (a query string, `warehouseId=w1&lowStock=true`) plus
 * one `filter-<name>` attribute per filter (`filter-warehouse-id` is
 * `warehouseId`); it must be exactly the filter the token was minted for.
 * Nothing of the app is imported: this file stays a few kilobytes.
 */

/** The EventDeck that served this script, whose embed pages the widgets show. */
const DECK_ORIGIN = new URL(import.meta.url).origin;
const FILTER_PREFIX = 'filter-';

/** `warehouse-id` → `warehouseId`: attribute names are lower case, filter names camelCase. */
const camelCase = (name: string) => name.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());

/** The embed URL the element's attributes name, or why there is none. */
export function embedUrl(origin: string, attributes: ReadonlyMap<string, string>): { url: string } | { error: string } {
  const view = attributes.get('view')?.trim();
  if (!view) return { error: '<eventdeck-view> needs a view attribute, e.g. view="inventory".' };
  const query = new URLSearchParams(attributes.get('filter') ?? '');
  for (const [name, value] of attributes) {
    if (name.startsWith(FILTER_PREFIX)) query.set(camelCase(name.slice(FILTER_PREFIX.length)), value);
  }
  const theme = attributes.get('theme');
  if (theme) query.set('theme', theme);
  const token = attributes.get('token')?.trim();
  if (token) query.set('token', token);
  const search = query.toString();
  return { url: `${origin}/embed/${encodeURIComponent(view)}${search ? `?${search}` : ''}` };
}

const STYLE = `
  :host { display: block; width: 100%; height: 100%; min-height: 10rem; }
  :host([hidden]) { display: none; }
  iframe { display: block; width: 100%; height: 100%; min-height: inherit; border: 0; }
  p { margin: 0; font: 0.9rem system-ui, sans-serif; color: #cf222e; }
`;

export class EventDeckView extends HTMLElement {
  readonly #frame = document.createElement('iframe');
  readonly #message = document.createElement('p');
  readonly #observer = new MutationObserver(() => this.#render());

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = STYLE;
    this.#message.setAttribute('role', 'alert');
    root.append(style, this.#frame, this.#message);
  }

  connectedCallback(): void {
    // Every attribute, `filter-*` included (observedAttributes must name them in advance).
    this.#observer.observe(this, { attributes: true });
    this.#render();
  }

  disconnectedCallback(): void {
    this.#observer.disconnect();
  }

  #render(): void {
    const attributes = new Map([...this.attributes].map((a) => [a.name, a.value]));
    const target = embedUrl(DECK_ORIGIN, attributes);
    this.#frame.hidden = 'error' in target;
    this.#message.textContent = 'error' in target ? target.error : '';
    if ('error' in target) return;
    this.#frame.title = attributes.get('title') ?? `EventDeck: ${attributes.get('view')}`;
    // Only a changed URL reloads the widget (a style or class change must not).
    if (this.#frame.getAttribute('src') !== target.url) this.#frame.src = target.url;
  }
}

if (!customElements.get('eventdeck-view')) customElements.define('eventdeck-view', EventDeckView);
