import { raw } from '@prisma/client/runtime/client';
import { describe, expect, it } from 'vitest';
import {
  analyzeFilter,
  type CompileFilterOptions,
  compileFilter,
  type LooseFilter,
  MAX_FILTER_CONDITIONS,
  MAX_FILTER_DEPTH,
  MAX_FILTER_LIST,
} from '../../src/core/filter.js';
import { thrown } from '../support/pg-vector-error.js';

const options: CompileFilterOptions = {
  metadataColumn: raw('"metadata"'),
  createdAtColumn: raw('"created_at"'),
};

function compile(filter: unknown): { text: string; values: unknown[] } {
  const s = compileFilter(filter as LooseFilter, options);
  return { text: s.text, values: s.values };
}

describe('a filter is judged by what it means (issue 12, item 1)', () => {
  it.each([
    [{}],
    [{ and: [] }],
    [{ and: [{}, {}] }],
    [{ or: [{}, {}] }],
    [{ or: [{ a: 1 }, {}] }],
    [{ not: { or: [] } }],
    [{ not: { not: {} } }],
    [{ and: [{ and: [{ or: [{ not: { or: [] } }] }] }] }],
    [{ tags: { nin: [] } }],
    [{ or: [{ a: 1 }, { not: { a: 1 } }] }],
    [{ or: [{ a: 'x' }, { a: { ne: 'x' } }] }],
    [{ or: [{ a: { exists: true } }, { a: { exists: false } }] }],
    [{ or: [{ a: { in: ['x', 2] } }, { a: { nin: ['x', 2] } }] }],
  ])('%j matches every row: compiled to TRUE', (filter) => {
    expect(compile(filter)).toEqual({ text: 'TRUE', values: [] });
    expect(analyzeFilter(filter as LooseFilter, options).everyRow).toBe(true);
  });

  it.each([
    [{ or: [] }],
    [{ not: {} }],
    [{ a: { in: [] } }],
    [{ and: [{ a: 1 }, { or: [] }] }],
    [{ and: [{ a: 1 }, { not: { a: 1 } }] }],
  ])('%j matches no row: compiled to FALSE', (filter) => {
    expect(compile(filter)).toEqual({ text: 'FALSE', values: [] });
    expect(analyzeFilter(filter as LooseFilter, options).noRow).toBe(true);
  });

  it('keeps the SQL of real conditions as before', () => {
    expect(compile({ and: [{}, { type: 'a' }] })).toEqual({
      text: '("metadata" @> $1::jsonb)',
      values: ['{"type":"a"}'],
    });
    expect(analyzeFilter({ type: 'a' }, options)).toMatchObject({ everyRow: false, noRow: false });
  });

  it.each([
    [{ tenant: undefined }, 'filter.tenant'],
    [{ and: [{ tenant: undefined }] }, 'filter.and[0].tenant'],
    [{ and: undefined }, 'filter.and'],
    [{ price: { gt: undefined } }, 'filter.price.gt'],
    [{ createdAt: { gte: undefined } }, 'filter.createdAt.gte'],
    [{ and: [undefined] }, 'filter.and[0]'],
  ])('refuses an undefined condition value in %j', (filter, path) => {
    const e = thrown(() => compile(filter));
    expect(e.code).toBe('INVALID_FILTER');
    expect(e.message).toBe(`${path}: is undefined (an unset variable?); leave the key out, or give a value`);
  });
});

describe('text in filters (issue 12, items 2 and 3)', () => {
  it.each([
    [{ 'a\ud800': 1 }, 'filter["a\\ud800"]: the key has an unpaired UTF-16 surrogate at index 1'],
    [{ a: 'x\udc00' }, 'filter.a: the value has an unpaired UTF-16 surrogate at index 1'],
    [
      { a: { in: ['ok', '\ud83d'] } },
      'filter.a.in[1]: the value has an unpaired UTF-16 surrogate at index 0',
    ],
    [
      { a: { contains: { 'k\udfff': 1 } } },
      'filter.a.contains["k\\udfff"]: the key has an unpaired UTF-16 surrogate at index 1',
    ],
    [{ a: { gt: '\ud800x' } }, 'filter.a.gt: the value has an unpaired UTF-16 surrogate at index 0'],
    [{ 'a\u0000': 1 }, 'filter["a\\u0000"]: the key has a NUL character (\\u0000) at index 1'],
    [{ a: 'x\u0000' }, 'filter.a: the value has a NUL character (\\u0000) at index 1'],
    [
      { a: { contains: ['\u0000'] } },
      'filter.a.contains[0]: the value has a NUL character (\\u0000) at index 0',
    ],
    [{ a: { ne: 'b\u0000' } }, 'filter.a.ne: the value has a NUL character (\\u0000) at index 1'],
  ])('refuses %j before SQL', (filter, message) => {
    const e = thrown(() => compile(filter));
    expect(e.code).toBe('INVALID_FILTER');
    expect(e.message).toBe(message);
  });

  it('accepts paired surrogates (emoji) and other unicode', () => {
    expect(compile({ 'ключ😀': '値😀' }).values).toEqual(['{"ключ😀":"値😀"}']);
    // Letters of any script can be literals; an emoji (not a letter) is bound.
    expect(compile({ ключ: { gt: '値😀' } })).toEqual({
      text: `(("metadata" ->> 'ключ') > $1::text AND jsonb_typeof(("metadata" -> 'ключ')) NOT IN ('number', 'boolean', 'object', 'array', 'null'))`,
      values: ['値😀'],
    });
    expect(compile({ 'ключ😀': { gt: '値😀' } }).values).toEqual(['ключ😀', 'ключ😀', '値😀']);
  });

  it('describes hostile operands without throwing a TypeError', () => {
    const cases: [unknown, string][] = [
      [{ a: 1n }, 'filter.a: expected a value or an operator object, got a bigint'],
      [{ a: Symbol('s') }, 'filter.a: expected a value or an operator object, got a symbol'],
      [{ a: { eq: 1n } }, 'filter.a.eq: expected a string, number, boolean or null, got a bigint'],
      [{ a: { gt: Symbol('s') } }, 'filter.a.gt: expected a number or a string, got a symbol'],
      [{ a: { contains: { b: 1n } } }, 'filter.a.contains.b: expected a JSON value, got a bigint'],
      [Object.create(null), ''],
      [
        { a: { eq: Object.create(null) } },
        'filter.a.eq: expected a string, number, boolean or null, got an object',
      ],
      [
        { createdAt: { gt: Object.create(null) } },
        'filter.createdAt.gt: expected a valid Date in years 1-9999, got an object',
      ],
    ];
    for (const [filter, message] of cases) {
      if (message === '') {
        expect(compile(filter)).toEqual({ text: 'TRUE', values: [] }); // an empty prototype-less object
        continue;
      }
      const e = thrown(() => compile(filter));
      expect(e.code).toBe('INVALID_FILTER');
      expect(e.message).toBe(message);
    }
  });

  it('reports a cyclic contains operand as cyclic', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(thrown(() => compile({ m: { contains: cyclic } })).message).toBe(
      'filter.m.contains.self: refers back to an enclosing value (a cycle)',
    );
    const shared = { x: 1 };
    expect(compile({ m: { contains: { a: shared, b: shared } } }).values).toEqual([
      '{"m":{"a":{"x":1},"b":{"x":1}}}',
    ]);
  });

  it('reports a cyclic filter as cyclic', () => {
    const f: Record<string, unknown> = { type: 'a' };
    f.not = f;
    expect(thrown(() => compile(f)).message).toBe('filter.not: refers back to an enclosing value (a cycle)');
  });
});

describe('filter limits (issue 12, item 4)', () => {
  it(`refuses more than ${MAX_FILTER_CONDITIONS} conditions, at once`, () => {
    const many = { or: Array.from({ length: MAX_FILTER_CONDITIONS + 1 }, (_, i) => ({ n: i })) };
    const started = performance.now();
    const e = thrown(() => compile(many));
    expect(performance.now() - started).toBeLessThan(500);
    expect(e.code).toBe('INVALID_FILTER');
    expect(e.message).toMatch(
      new RegExp(`^filter\\.or\\[\\d+\\]: the filter has more than ${MAX_FILTER_CONDITIONS} conditions`),
    );
    const huge = { or: Array.from({ length: 40_000 }, (_, i) => ({ n: i })) };
    expect(thrown(() => compile(huge)).code).toBe('INVALID_FILTER');
    const fits = { or: Array.from({ length: MAX_FILTER_CONDITIONS / 2 }, (_, i) => ({ n: i })) };
    expect(compile(fits).values.length).toBe(MAX_FILTER_CONDITIONS / 2);
  });

  it(`refuses lists of more than ${MAX_FILTER_LIST} values and deeper than ${MAX_FILTER_DEPTH} levels`, () => {
    const list = Array.from({ length: MAX_FILTER_LIST + 1 }, (_, i) => i);
    expect(thrown(() => compile({ n: { in: list } })).message).toBe(
      `filter.n.in: more than ${MAX_FILTER_LIST} values`,
    );
    expect(compile({ n: { in: list.slice(1) } }).values[0]).toHaveLength(MAX_FILTER_LIST);
    expect(thrown(() => compile({ n: { contains: list } })).message).toBe(
      `filter.n.contains: more than ${MAX_FILTER_LIST} values`,
    );
    let deep: Record<string, unknown> = { type: 'a' };
    for (let i = 0; i < MAX_FILTER_DEPTH + 1; i++) deep = { and: [deep] };
    expect(thrown(() => compile(deep)).message).toMatch(/nested deeper than 32 levels$/);
  });
});

describe('dates in filters (issue 12, item 5)', () => {
  it('refuses Dates outside years 1-9999, and Invalid Date', () => {
    const yearZero = new Date(Date.UTC(2000, 0, 1));
    yearZero.setUTCFullYear(0);
    const cases: [Date, string][] = [
      [new Date('nope'), 'an Invalid Date'],
      [new Date(Date.UTC(10_000, 0, 1)), 'a Date in year 10000'],
      [yearZero, 'a Date in year 0'],
    ];
    for (const [date, got] of cases) {
      const e = thrown(() => compile({ createdAt: { gte: date } }));
      expect(e.code).toBe('INVALID_FILTER');
      expect(e.message).toBe(`filter.createdAt.gte: expected a valid Date in years 1-9999, got ${got}`);
    }
  });

  it('accepts the first and the last millisecond of the range', () => {
    const first = new Date(Date.UTC(2000, 0, 1));
    first.setUTCFullYear(1);
    const last = new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999));
    expect(compile({ createdAt: { gte: first, lte: last } }).values).toEqual([first, last]);
  });
});

describe('a filter is read once (issue 12, item 5)', () => {
  it('validates and compiles the same snapshot of a getter', () => {
    let reads = 0;
    const filter = {
      get type() {
        reads++;
        return reads === 1 ? 'article' : { gt: 1n };
      },
    };
    expect(compile(filter)).toEqual({ text: '("metadata" @> $1::jsonb)', values: ['{"type":"article"}'] });
    expect(reads).toBe(1);
  });
});
