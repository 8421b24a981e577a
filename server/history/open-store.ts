/**
 * Chooses the history backend from config: a ClickHouse server when
 * CLICKHOUSE_URL is set, else embedded chDB under the data dir. Each backend is
 * loaded only when chosen: chDB brings a large native library into the process.
 */
import path from 'node:path';
import type { Config } from '../config.ts';
import type { HistoryStore } from './store.ts';

/** Where embedded chDB keeps its data, under EVENTDECK_DATA_DIR. */
export function chdbDataDir(dataDir: string): string {
  return path.join(dataDir, 'clickhouse');
}

export async function openHistoryStore(config: Pick<Config, 'clickhouseUrl' | 'dataDir'>): Promise<HistoryStore> {
  if (config.clickhouseUrl) {
    const { openServerStore } = await import('./server-store.ts');
    return openServerStore(config.clickhouseUrl);
  }
  const { openChdbStore } = await import('./chdb-store.ts');
  return openChdbStore(chdbDataDir(config.dataDir));
}
