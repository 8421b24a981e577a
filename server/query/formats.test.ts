import { describe, expect, it } from 'vitest';
import { chooseFormat } from './formats.ts';

describe('choosing the answer format', () => {
  it('takes the body\'s format over any Accept header', () => {
    expect(chooseFormat('ndjson', 'text/csv')).toBe('ndjson');
    expect(chooseFormat('csv', undefined)).toBe('csv');
  });

  it.each([
    [undefined, 'json'],
    ['', 'json'],
    ['*/*', 'json'],
    ['application/json', 'json'],
    ['text/csv', 'csv'],
    ['application/x-ndjson', 'ndjson'],
    ['text/html, text/csv;q=0.5, application/x-ndjson;q=0.9', 'ndjson'],
    ['text/csv, application/x-ndjson', 'csv'],
    ['application/xml', 'json'],
    ['text/csv;q=0, application/json;q=0.1', 'json'],
  ])('without one, reads Accept %j as %s', (accept, format) => {
    expect(chooseFormat(undefined, accept)).toBe(format);
  });
});
