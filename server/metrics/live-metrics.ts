/** The live hub's metrics (api role): connected clients, topics, and view updates pushed. */
import { Counter, Gauge, type Registry as MetricsRegistry } from 'prom-client';

/** What the metrics read of the hub at scrape time. */
export interface LiveHubGauges {
  readonly clientCount: number;
  readonly topicCount: number;
}

export class LiveMetrics {
  #hub?: LiveHubGauges;
  readonly #pushes: Counter<'view'>;

  constructor(metrics: MetricsRegistry) {
    const registers = [metrics];
    const hub = () => this.#hub;
    new Gauge({
      name: 'eventdeck_live_clients', help: 'Socket.IO clients connected to the live namespace /live.', registers,
      collect() {
        this.set(hub()?.clientCount ?? 0);
      },
    });
    new Gauge({
      name: 'eventdeck_live_topics', help: 'Distinct (view, filter) subscriptions with at least one client.', registers,
      collect() {
        this.set(hub()?.topicCount ?? 0);
      },
    });
    this.#pushes = new Counter({
      name: 'eventdeck_live_pushes_total',
      help: 'view:update messages sent to clients (one per client and update, after conflation), by view.',
      labelNames: ['view'], registers,
    });
  }

  /** The hub starts after the HTTP server; until then it has no clients. `views`: every view's series exist from the start. */
  watch(hub: LiveHubGauges, views: readonly string[]): void {
    this.#hub = hub;
    for (const view of views) this.#pushes.inc({ view }, 0);
  }

  /** For the hub's onPush hook. */
  readonly pushed = (view: string, messages: number): void => {
    this.#pushes.inc({ view }, messages);
  };
}
