import { describe, expect, it } from 'vitest';
import {
  can, canonicalFilter, defaultEventTypes, LOCAL_PRINCIPAL, matchesTypePattern, mayPublish, mayView, inScope,
  rightsOf, RIGHTS, type Principal, type RoleName,
} from './principal.ts';

function principal(roles: RoleName[], more: Partial<Principal> = {}): Principal {
  return { kind: 'key', id: 'k1', label: 'test', roles, rights: rightsOf(roles), eventTypes: defaultEventTypes(roles), ...more };
}

describe('roles and rights', () => {
  it('gives a producer only the right to publish', () => {
    expect([...rightsOf(['producer'])]).toEqual(['events:publish']);
  });

  it('lets a viewer read views but not query SQL, acknowledge alerts or see personal data', () => {
    const viewer = principal(['viewer']);
    expect(can(viewer, 'views:read')).toBe(true);
    expect(can(viewer, 'sql:query')).toBe(false);
    expect(can(viewer, 'alerts:ack')).toBe(false);
    expect(can(viewer, 'pii:read')).toBe(false);
  });

  it('lets an operator do what a viewer does, and acknowledge, re-drive and compensate', () => {
    expect([...rightsOf(['operator'])].sort()).toEqual(['alerts:ack', 'compensate', 'dlq:write', 'views:read']);
  });

  it('lets an analyst query SQL and read views, nothing more', () => {
    expect([...rightsOf(['analyst'])].sort()).toEqual(['sql:query', 'views:read']);
  });

  it('gives an admin every right, personal data and key management included', () => {
    expect([...rightsOf(['admin'])].sort()).toEqual([...RIGHTS].sort());
  });

  it('adds known extra rights and drops unknown ones', () => {
    expect([...rightsOf(['viewer'], ['pii:read', 'root:everything'])].sort()).toEqual(['pii:read', 'views:read']);
  });

  it('gives local mode every right over every warehouse and type', () => {
    for (const right of RIGHTS) expect(can(LOCAL_PRINCIPAL, right)).toBe(true);
    expect(inScope(LOCAL_PRINCIPAL, 'any')).toBe(true);
    expect(mayPublish(LOCAL_PRINCIPAL, 'custom.thing')).toBe(true);
  });

  it('never lets local mode expire: it has no credential to run out', () => {
    expect(LOCAL_PRINCIPAL.expiresAt).toBeUndefined();
  });
});

describe('publishing by type pattern', () => {
  it('matches a prefix pattern, the wildcard and exact names', () => {
    expect(matchesTypePattern('order.*', 'order.placed')).toBe(true);
    expect(matchesTypePattern('order.*', 'orders.placed')).toBe(false);
    expect(matchesTypePattern('order.*', 'payment.failed')).toBe(false);
    expect(matchesTypePattern('*', 'anything.at.all')).toBe(true);
    expect(matchesTypePattern('order.placed', 'order.placed')).toBe(true);
    expect(matchesTypePattern('order.placed', 'order-placed')).toBe(false);
  });

  it('lets a producer publish only the types its key allows', () => {
    const producer = principal(['producer'], { eventTypes: ['order.*', 'inventory.received'] });
    expect(mayPublish(producer, 'order.placed')).toBe(true);
    expect(mayPublish(producer, 'inventory.received')).toBe(true);
    expect(mayPublish(producer, 'payment.refunded')).toBe(false);
  });

  it('lets a producer with no type list publish nothing', () => {
    expect(mayPublish(principal(['producer']), 'order.placed')).toBe(false);
  });

  it('refuses publishing to a caller without the right, whatever its patterns', () => {
    expect(mayPublish(principal(['viewer'], { eventTypes: ['*'] }), 'order.placed')).toBe(false);
  });
});

describe('warehouse scope', () => {
  const scoped = principal(['viewer'], { warehouses: ['w1'] });

  it('lets an unscoped caller see every warehouse', () => {
    expect(inScope(principal(['viewer']), 'w9')).toBe(true);
  });

  it('lets a scoped caller see its warehouse and no other, nor data with no warehouse', () => {
    expect(inScope(scoped, 'w1')).toBe(true);
    expect(inScope(scoped, 'w2')).toBe(false);
    expect(inScope(scoped, null)).toBe(false);
  });

  it('lets a scoped viewer read a view filtered to its warehouse only', () => {
    expect(mayView(scoped, 'inventory', { warehouseId: 'w1' })).toBe(true);
    expect(mayView(scoped, 'inventory', { warehouseId: 'w2' })).toBe(false);
    expect(mayView(scoped, 'inventory', {})).toBe(false);
  });

  it('refuses views to a producer', () => {
    expect(mayView(principal(['producer'], { eventTypes: ['*'] }), 'orders', {})).toBe(false);
  });
});

describe('embed principals', () => {
  const embed: Principal = {
    kind: 'embed', id: 't1', label: 'embed', roles: [], rights: new Set(['views:read']), eventTypes: [],
    embed: { view: 'inventory', filter: { warehouseId: 'w1', sku: 'A' }, origins: [] },
  };

  it('open exactly their view and filter, whatever the order of the filter keys', () => {
    expect(mayView(embed, 'inventory', { sku: 'A', warehouseId: 'w1' })).toBe(true);
    expect(canonicalFilter({ b: '2', a: '1' })).toBe('a=1&b=2');
  });

  it('open no other view, and no wider or other filter', () => {
    expect(mayView(embed, 'orders', { warehouseId: 'w1', sku: 'A' })).toBe(false);
    expect(mayView(embed, 'inventory', { warehouseId: 'w1' })).toBe(false);
    expect(mayView(embed, 'inventory', { warehouseId: 'w2', sku: 'A' })).toBe(false);
  });
});
