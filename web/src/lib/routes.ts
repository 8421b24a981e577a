/** The app's paths (the server answers index.html for each, see server/http/web-app.ts). */
export type Route =
  | { page: 'overview' }
  | { page: 'orders' }
  | { page: 'order'; orderId: string }
  | { page: 'inventory' }
  | { page: 'fulfilment' }
  | { page: 'alerts' }
  | { page: 'dead-letters' }
  | { page: 'pipeline' }
  | { page: 'catalog' }
  | { page: 'lineage'; correlationId: string | null }
  | { page: 'keys' }
  | { page: 'audit' }
  | { page: 'embed'; view: string }
  | { page: 'not-found' };

const simple: Record<string, Route> = {
  '/': { page: 'overview' },
  '/orders': { page: 'orders' },
  '/inventory': { page: 'inventory' },
  '/fulfilment': { page: 'fulfilment' },
  '/alerts': { page: 'alerts' },
  '/catalog': { page: 'catalog' },
  '/lineage': { page: 'lineage', correlationId: null },
  '/dead-letters': { page: 'dead-letters' },
  '/pipeline': { page: 'pipeline' },
  '/keys': { page: 'keys' },
  '/audit': { page: 'audit' },
};

export function matchRoute(path: string): Route {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const known = simple[trimmed];
  if (known) return known;
  const order = /^\/orders\/([^/]+)$/.exec(trimmed);
  if (order) return { page: 'order', orderId: safeDecode(order[1]!) };
  const lineage = /^\/lineage\/([^/]+)$/.exec(trimmed);
  if (lineage) return { page: 'lineage', correlationId: safeDecode(lineage[1]!) };
  const embed = /^\/embed\/([^/]+)$/.exec(trimmed);
  if (embed) return { page: 'embed', view: safeDecode(embed[1]!) };
  return { page: 'not-found' };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // URIError: a lone % is taken as it is
  }
}

export const orderHref = (orderId: string): string => `/orders/${encodeURIComponent(orderId)}`;
