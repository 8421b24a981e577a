import { describe, expect, it } from 'vitest';
import { applyMigrations, MigrationError, type Migration } from './migrations.ts';
import type { HistoryStore } from './store.ts';

/** A store that answers the recorded versions and remembers every statement. */
function fakeStore(recorded: { version: number; name: string }[]) {
  const statements: string[] = [];
  const store: HistoryStore = {
    backend: 'chdb',
    async exec(sql) {
      statements.push(sql.trim());
    },
    async query<T extends object>() {
      return recorded as T[];
    },
    async insert() {},
    async close() {},
  };
  return { store, statements };
}

const migrations: Migration[] = [
  { version: 1, name: 'events', sql: ['CREATE TABLE IF NOT EXISTS a'] },
  { version: 2, name: 'kpis', sql: ['CREATE TABLE IF NOT EXISTS b', 'CREATE TABLE IF NOT EXISTS c'] },
];

describe('applying history migrations', () => {
  it('runs only the migrations not yet recorded, in order, and records each after its statements', async () => {
    const { store, statements } = fakeStore([{ version: 1, name: 'events' }]);
    expect(await applyMigrations(store, migrations)).toEqual({ applied: [2] });
    expect(statements.slice(1)).toEqual([
      'CREATE TABLE IF NOT EXISTS b',
      'CREATE TABLE IF NOT EXISTS c',
      'INSERT INTO schema_migrations (version, name, applied_at) SELECT {version:UInt32}, {name:String}, now()',
    ]);
  });

  it('refuses a schema recorded by a newer EventDeck', async () => {
    const { store } = fakeStore([{ version: 1, name: 'events' }, { version: 3, name: 'later' }]);
    await expect(applyMigrations(store, migrations)).rejects.toThrowError(/version 3, newer than this EventDeck knows/);
  });

  it('refuses a recorded migration whose name differs from ours', async () => {
    const { store } = fakeStore([{ version: 1, name: 'something else' }]);
    await expect(applyMigrations(store, migrations)).rejects.toThrowError(MigrationError);
  });

  it('refuses a list with a gap or out of order', async () => {
    const { store } = fakeStore([]);
    await expect(applyMigrations(store, [migrations[1]!])).rejects.toThrowError(/numbered 1, 2, 3/);
  });
});
