/**
 * Chooses where analyst SQL runs, as openHistoryStore chooses the history:
 * the ClickHouse server when CLICKHOUSE_URL is set, else embedded chDB on the
 * history's data directory. Each is loaded only when chosen.
 */
import type { Config } from '../config.ts';
import { chdbDataDir } from '../history/open-store.ts';
import type { AnalystSql } from './analyst-sql.ts';

export async function openAnalystSql(config: Pick<Config, 'clickhouseUrl' | 'dataDir'>): Promise<AnalystSql> {
  if (config.clickhouseUrl) {
    const { openServerAnalyst } = await import('./server-analyst.ts');
    return openServerAnalyst(config.clickhouseUrl);
  }
  const { openChdbAnalyst } = await import('./chdb-analyst.ts');
  return openChdbAnalyst(chdbDataDir(config.dataDir));
}
