import { describe, expect, it } from 'vitest';
import { bindParams, QueryParamError } from './sql-params.ts';

describe('binding query parameters', () => {
  it('replaces each placeholder by a cast literal of its type', () => {
    expect(bindParams('SELECT * FROM events WHERE type = {type:String} AND dataversion >= {v:UInt32}', { type: 'order.placed', v: 2 }))
      .toBe("SELECT * FROM events WHERE type = CAST('order.placed' AS String) AND dataversion >= CAST(2 AS UInt32)");
  });

  it('escapes quotes and backslashes, so a value can never end its literal', () => {
    expect(bindParams('SELECT {s:String}', { s: "it's \\' OR 1=1 --" })).toBe("SELECT CAST('it\\'s \\\\\\' OR 1=1 --' AS String)");
  });

  it('binds dates as epoch seconds, arrays, booleans, big integers and null', () => {
    const sql = bindParams('{t:DateTime} {a:Array(String)} {b:UInt8} {n:UInt64} {z:Nullable(String)}', {
      t: new Date('2026-11-26T10:00:00.900Z'), a: ['x', "y'"], b: true, n: 2n ** 63n, z: null,
    });
    expect(sql).toBe(
      "CAST(1795687200 AS DateTime) CAST(['x', 'y\\''] AS Array(String)) CAST(1 AS UInt8) CAST(9223372036854775808 AS UInt64) CAST(NULL AS Nullable(String))",
    );
  });

  it('leaves braces that are not placeholders alone', () => {
    expect(bindParams(`SELECT '{"a":1}' AS json`)).toBe(`SELECT '{"a":1}' AS json`);
  });

  it('rejects a placeholder without a value, and a number with no literal', () => {
    expect(() => bindParams('SELECT {missing:String}', {})).toThrowError(QueryParamError);
    expect(() => bindParams('SELECT {n:Float64}', { n: Number.NaN })).toThrowError(/not a finite number/);
  });
});
