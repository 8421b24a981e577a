import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../shared/registry.ts';
import { BoundedLabel, OTHER, typeLabel } from './label-values.ts';

describe('label values', () => {
  it('keeps registered types and turns any other type into "other"', () => {
    const registry = createRegistry([{ type: 'order.placed', partitionKey: '{orderId}', versions: [{ version: 1, status: 'active', schema: {} }] }]);
    expect(typeLabel(registry, 'order.placed')).toBe('order.placed');
    expect(typeLabel(registry, 'order.placed.v2')).toBe(OTHER);
    expect(typeLabel(registry, undefined)).toBe(OTHER);
    expect(typeLabel(registry, 42)).toBe(OTHER);
  });

  it('takes the first distinct short values and turns later new ones, long ones, control characters and non-strings into "other"', () => {
    const sources = new BoundedLabel(2, 10);
    expect(sources.of('/orders')).toBe('/orders');
    expect(sources.of('/a-source-that-is-too-long')).toBe(OTHER);
    expect(sources.of('/payments')).toBe('/payments');
    expect(sources.of('/shipping')).toBe(OTHER);
    expect(sources.of('/orders')).toBe('/orders');
    expect(sources.of('')).toBe(OTHER);
    expect(sources.of(null)).toBe(OTHER);
    expect(sources.of('/a\nb')).toBe(OTHER);
  });
});
