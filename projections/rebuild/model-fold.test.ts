/**
 * The rebuild's fold equals the live pipeline's (planBatch, through
 * foldInMemory) for every built-in projection, keeps inventory rows that add
 * up to zero as Redis and the reference fold do, stays inside the declared key
 * patterns, and writes after staging that compose to the same model.
 */
import { describe, expect, it } from 'vitest';
import { inventoryRow, parseInventoryHash, readModelKeyPatterns, readModelKeys } from '../../shared/read-models.ts';
import { distinct, recentFlows } from '../../test/support/flows.ts';
import { foldInMemory } from '../fold-in-memory.ts';
import { builtInProjections } from '../index.ts';
import { foldInventory } from '../inventory/evolve.ts';
import { inventoryProjection } from '../inventory/index.ts';
import { globToRegExp, KeyPatterns } from './key-patterns.ts';
import { applyAll, ModelFold, type IndexModel, type Write } from './model-fold.ts';

const events = distinct(recentFlows(300, 11, Date.parse('2026-11-26T12:00:00Z')));

/** Hash fields at 0 left out: a batch fold drops increments that add up to 0, Redis keeps the field. */
function withoutZeros(model: IndexModel): IndexModel {
  const hashes = new Map([...model.hashes].map(([key, hash]) => [key, new Map([...hash].filter(([, v]) => v !== 0))] as const));
  return { hashes: new Map([...hashes].filter(([, hash]) => hash.size > 0)), zsets: model.zsets, sets: model.sets };
}

/** The part of a whole-model fold that belongs to one projection's keys. */
function ownPart(patterns: KeyPatterns, model: ReturnType<typeof foldInMemory>) {
  const pick = <V>(map: Map<string, V>, type: string) => new Map([...map].filter(([key]) => patterns.covers(key, type)));
  return {
    strings: pick(model.strings, 'string'),
    index: { hashes: pick(model.hashes, 'hash'), zsets: pick(model.zsets, 'zset'), sets: pick(model.sets, 'set') },
  };
}

describe('the rebuild fold', () => {
  it('declares key patterns for every built-in projection', () => {
    for (const projection of builtInProjections) expect(readModelKeyPatterns[projection.name], projection.name).toBeDefined();
  });

  for (const projection of builtInProjections) {
    it(`gives the read model of the live pipeline for ${projection.name}, inside its key patterns`, () => {
      const patterns = new KeyPatterns(projection.name, readModelKeyPatterns[projection.name]!);
      const fold = new ModelFold(projection);
      for (const event of events) expect(fold.add(event)).toBe(true);
      const documents = new Map(fold.documents());
      const index = fold.indexModel();
      for (const key of documents.keys()) patterns.check(key, 'string');
      for (const key of index.hashes.keys()) patterns.check(key, 'hash');
      for (const key of index.zsets.keys()) patterns.check(key, 'zset');
      for (const key of index.sets.keys()) patterns.check(key, 'set');

      const expected = ownPart(patterns, foldInMemory([projection], events));
      expect(documents).toEqual(expected.strings);
      expect(withoutZeros(index)).toEqual(expected.index);
    });
  }

  it('keeps inventory rows whose stock adds up to zero, as the reference fold does', () => {
    const fold = new ModelFold(inventoryProjection);
    for (const event of events) fold.add(event);
    const { hashes, sets } = fold.indexModel();
    const rows = [...sets.get(readModelKeys.inventoryWarehouses)!].sort().flatMap((w) =>
      parseInventoryHash(w, Object.fromEntries([...hashes.get(readModelKeys.inventory(w)) ?? []].map(([f, v]) => [f, String(v)]))));
    expect(rows.map((r) => inventoryRow(r, 10)).sort((a, b) => (a.warehouseId + a.sku < b.warehouseId + b.sku ? -1 : 1)))
      .toEqual(foldInventory(events).map((r) => inventoryRow(r, 10)));
  });

  for (const projection of builtInProjections) {
    it(`writes events added after staging so that staged model plus writes equals the whole fold (${projection.name})`, () => {
      const half = Math.floor(events.length / 2);
      const whole = new ModelFold(projection);
      for (const event of events) whole.add(event);

      const staged = new ModelFold(projection);
      for (const event of events.slice(0, half)) staged.add(event);
      const strings = new Map(staged.documents());
      const index = cloneModel(staged.indexModel());
      // The switch's tail: writes on top, without changing the fold.
      const overlay = staged.overlay();
      const tail = events.slice(half).flatMap((event) => overlay.writes(event) ?? []);
      const tailed = { strings: new Map(strings), index: cloneModel(index) };
      applyWrites(tailed.strings, tailed.index, tail);
      // A catch-up: writes that also fold in.
      for (const event of events.slice(half)) applyWrites(strings, index, staged.addWithWrites(event) ?? []);

      for (const model of [{ strings, index }, tailed]) {
        expect(model.strings).toEqual(new Map(whole.documents()));
        expect(withoutZeros(model.index)).toEqual(withoutZeros(whole.indexModel()));
      }
    });
  }

  it('leaves out an event the projection throws on, whole', () => {
    const fold = new ModelFold({ kind: 'counter', name: 'bad', views: [], changes: () => [
      { op: 'hincr', key: 'k', field: 'ok', by: 1 }, { op: 'hincr', key: 'k', field: 'half', by: 0.5 },
    ] });
    expect(fold.add(events[0]!)).toBe(false);
    expect(fold.skipped).toBe(1);
    expect(fold.indexModel().hashes.size).toBe(0);
  });
});

describe('key patterns', () => {
  it('read Redis globs, and tell orders from timelines by type', () => {
    expect(globToRegExp('eventdeck:rm:order:*:timeline').test('eventdeck:rm:order:o-1:timeline')).toBe(true);
    expect(globToRegExp('a.b?c').test('a.bxc')).toBe(true);
    expect(globToRegExp('a.b?c').test('aXbxc')).toBe(false);
    const orders = new KeyPatterns('orders', readModelKeyPatterns.orders!);
    const timeline = new KeyPatterns('timeline', readModelKeyPatterns.timeline!);
    expect(orders.covers(readModelKeys.orderTimeline('o-1'), 'zset')).toBe(false);
    expect(timeline.covers(readModelKeys.orderTimeline('o-1'), 'zset')).toBe(true);
    expect(orders.covers(readModelKeys.order('o-1'), 'string')).toBe(true);
    expect(() => orders.check(readModelKeys.inventory('w'), 'hash')).toThrow(/readModelKeyPatterns/);
  });
});

function cloneModel(model: IndexModel): IndexModel {
  return {
    hashes: new Map([...model.hashes].map(([k, v]) => [k, new Map(v)])),
    zsets: new Map([...model.zsets].map(([k, v]) => [k, new Map(v)])),
    sets: new Map([...model.sets].map(([k, v]) => [k, new Set(v)])),
  };
}

function applyWrites(strings: Map<string, string>, index: IndexModel, writes: readonly Write[]): void {
  for (const write of writes) {
    if (write.op === 'set') strings.set(write.key, write.value);
    else applyAll(index, [write]);
  }
}
