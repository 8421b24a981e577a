import { describe, expect, it } from 'vitest';
import type { Order, TimelineEntry } from '../../shared/read-models.ts';
import { planCompensation } from './compensation.ts';

const order = (stages: Order['stages']): Order => ({
  orderId: 'o-1', customerId: 'c', warehouseId: 'w', channel: 'web', currency: 'EUR', total: 10, itemCount: 2, stages,
  status: 'placed', paymentFailures: 0, refunded: 0, cancelReason: null, lastEventAt: '2026-11-26T10:00:00Z',
});
const step = (type: string, data: Record<string, unknown> = {}): TimelineEntry => ({
  id: `e-${type}`, source: '/shop', type, time: '2026-11-26T10:00:00Z', data, correlationid: 'saga-1',
});
const request = { reason: 'stuck', time: '2026-11-27T08:00:00Z' };
const T = '2026-11-26T10:00:00Z';

describe('planning a compensation', () => {
  it('given reserved stock not released, releases it and cancels the order, in the saga, caused by its last step', () => {
    const plan = planCompensation(order({ placed: T, reserved: T }), [step('order.placed'), step('inventory.reserved', { warehouseId: 'w', items: [{ sku: 's', qty: 2 }] })], request);
    expect(plan).toEqual({
      ok: true,
      events: [
        expect.objectContaining({ id: 'compensation:o-1:inventory.released', type: 'inventory.released', correlationid: 'saga-1', causationid: 'e-inventory.reserved',
          data: { orderId: 'o-1', warehouseId: 'w', items: [{ sku: 's', qty: 2 }], reason: 'stuck' } }),
        expect.objectContaining({ id: 'compensation:o-1:order.cancelled', type: 'order.cancelled', data: { orderId: 'o-1', reason: 'stuck' } }),
      ],
    });
  });

  it('given released stock, only cancels; given a cancelled order with nothing reserved, refuses', () => {
    const released = [step('inventory.reserved', { warehouseId: 'w', items: [] }), step('inventory.released')];
    const plan = planCompensation(order({ placed: T, reserved: T }), released, request);
    expect(plan.ok && plan.events.map((e) => e.type)).toEqual(['order.cancelled']);
    expect(planCompensation(order({ placed: T, cancelled: T }), released, request)).toEqual({ ok: false, reason: expect.stringMatching(/nothing to compensate/) });
  });

  it('given a cancelled order whose stock is still reserved, releases it only', () => {
    const plan = planCompensation(order({ placed: T, reserved: T, cancelled: T }), [step('inventory.reserved', { warehouseId: 'w', items: [] })], request);
    expect(plan.ok && plan.events.map((e) => e.type)).toEqual(['inventory.released']);
  });

  it('refuses a shipped order', () => {
    expect(planCompensation(order({ placed: T, shipped: T }), [], request)).toEqual({ ok: false, reason: expect.stringMatching(/has shipped/) });
  });
});
