import { raw, sqltag as sql } from '@prisma/client/runtime/client';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  analyzeFilter,
  type CompileFilterOptions,
  compileFilter,
  type Filter,
  type LooseFilter,
  type PartialIndexPredicate,
  partialIndexPredicateSql,
} from '../../src/core/filter.js';
import {
  metadataJsonExpression,
  metadataNumberExpression,
  metadataStringExpression,
  metadataTextExpression,
  stringExpressionKeyPath,
  textExpressionKeyPath,
} from '../../src/core/filter-expressions.js';
import { thrown } from '../support/pg-vector-error.js';

const M = raw('"metadata"');
const options: CompileFilterOptions = { metadataColumn: M, createdAtColumn: raw('"created_at"') };
const withArticleIndex: CompileFilterOptions = {
  ...options,
  partialIndexPredicates: [
    { key: 'type', value: 'article' },
    { key: 'lang', value: 'en-GB' },
  ],
};

function compile(filter: unknown, opts: CompileFilterOptions = options): { text: string; values: unknown[] } {
  const s = compileFilter(filter as LooseFilter, opts);
  return { text: s.text, values: s.values };
}

describe('compileFilter: empty', () => {
  it('compiles an absent or empty filter to TRUE', () => {
    expect(compile(undefined)).toEqual({ text: 'TRUE', values: [] });
    expect(compile({})).toEqual({ text: 'TRUE', values: [] });
    expect(compile({ and: [{}, {}] })).toEqual({ text: 'TRUE', values: [] });
  });
});

describe('compileFilter: equality', () => {
  it('writes equality on any scalar as containment of {"k": v}, which a GIN index serves', () => {
    const expected = { text: '("metadata" @> $1::jsonb)', values: ['{"type":"article"}'] };
    expect(compile({ type: 'article' })).toEqual(expected);
    expect(compile({ type: { eq: 'article' } })).toEqual(expected);
    expect(compile({ price: 10 })).toEqual({ text: '("metadata" @> $1::jsonb)', values: ['{"price":10}'] });
    expect(compile({ price: { eq: 2.5 } }).values).toEqual(['{"price":2.5}']);
    expect(compile({ flag: true }).values).toEqual(['{"flag":true}']);
    expect(compile({ flag: { eq: false } }).values).toEqual(['{"flag":false}']);
    expect(compile({ gone: null })).toEqual({ text: '("metadata" @> $1::jsonb)', values: ['{"gone":null}'] });
  });

  it('negates with IS NOT TRUE so missing keys count as different', () => {
    expect(compile({ type: { ne: 'article' } })).toEqual({
      text: '(("metadata" @> $1::jsonb) IS NOT TRUE)',
      values: ['{"type":"article"}'],
    });
    expect(compile({ price: { ne: 3 } })).toEqual({
      text: '(("metadata" @> $1::jsonb) IS NOT TRUE)',
      values: ['{"price":3}'],
    });
  });

  it('binds keys that look like SQL inside the JSON document', () => {
    expect(compile({ "x') OR 1=1 --": "'; DROP TABLE documents; --" })).toEqual({
      text: '("metadata" @> $1::jsonb)',
      values: ['{"x\') OR 1=1 --":"\'; DROP TABLE documents; --"}'],
    });
    expect(compile({ __proto__x: 1, ['__proto__']: 'p' }).values).toEqual([
      '{"__proto__x":1}',
      '{"__proto__":"p"}',
    ]);
  });
});

describe('compileFilter: in / nin', () => {
  it('uses @> ANY(jsonb[]) with one containment document per value, of any scalar type', () => {
    expect(compile({ type: { in: ['a', 'b'] } })).toEqual({
      text: '("metadata" @> ANY($1::jsonb[]))',
      values: [['{"type":"a"}', '{"type":"b"}']],
    });
    expect(compile({ n: { in: ['a', 1, true, null] } })).toEqual({
      text: '("metadata" @> ANY($1::jsonb[]))',
      values: [['{"n":"a"}', '{"n":1}', '{"n":true}', '{"n":null}']],
    });
  });

  it('negates nin with IS NOT TRUE', () => {
    expect(compile({ type: { nin: ['a'] } })).toEqual({
      text: '(("metadata" @> ANY($1::jsonb[])) IS NOT TRUE)',
      values: [['{"type":"a"}']],
    });
  });

  it('makes in: [] match nothing and nin: [] everything', () => {
    expect(compile({ type: { in: [] } })).toEqual({ text: 'FALSE', values: [] });
    expect(compile({ type: { nin: [] } })).toEqual({ text: 'TRUE', values: [] }); // folded: it means every row
  });
});

describe('compileFilter: text equality on keys with a B-tree on their text', () => {
  const textKeys: CompileFilterOptions = {
    ...withArticleIndex,
    textIndexKeys: new Set(['tenant', 'a.b', 'type', 'a key']),
  };
  it('writes eq / in of strings as text equality plus a type test; other values keep the containment', () => {
    // 't7' can only be the string "t7": no type test.
    expect(compile({ tenant: 't7' }, textKeys)).toEqual({
      text: `(("metadata" ->> 'tenant') = $1::text)`,
      values: ['t7'],
    });
    expect(compile({ 'a.b': { in: ['x', 'y'] } }, textKeys)).toEqual({
      text: `(("metadata" #>> '{a,b}') = ANY($1::text[]))`,
      values: [['x', 'y']],
    });
    // '7', 'true', '[1]', '{}' are also the text of a number, a boolean, an array, an object: typed.
    for (const value of ['7', '-0.5', 'true', '[1]', '{"a": 1}']) {
      expect(compile({ tenant: { in: ['x', value] } }, textKeys).text).toBe(
        `(("metadata" ->> 'tenant') = ANY($1::text[]) AND jsonb_typeof(("metadata" -> 'tenant')) NOT IN ('number', 'boolean', 'object', 'array', 'null'))`,
      );
    }
    expect(compile({ tenant: 'null' }, textKeys).text).toBe(`(("metadata" ->> 'tenant') = $1::text)`);
    expect(compile({ tenant: { in: ['x', 1] } }, textKeys).text).toBe('("metadata" @> ANY($1::jsonb[]))');
    expect(compile({ tenant: 7 }, textKeys).text).toBe('("metadata" @> $1::jsonb)');
    expect(compile({ other: 'x' }, textKeys).text).toBe('("metadata" @> $1::jsonb)');
    // A key that must stay bound is never written as text equality, even if named.
    expect(compile({ 'a key': 'x' }, textKeys).text).toBe('("metadata" @> $1::jsonb)');
    expect(compile({ tenant: { nin: ['t7'] } }, textKeys).text).toBe(
      `((("metadata" ->> 'tenant') = $1::text) IS NOT TRUE)`,
    );
    // A configured partial-index predicate keeps its literal form.
    expect(compile({ type: 'article' }, textKeys).text).toBe(
      `(("metadata" ->> 'type'::text) = 'article'::text)`,
    );
  });

  it('estimateWhere: the same filter without the type tests beside index conditions (planner estimates)', () => {
    const a = analyzeFilter({ day: { gte: '2024-01-01', lt: '2024-02-01' }, price: { gt: 3 } }, textKeys);
    expect(a.where.text).toContain(
      `jsonb_typeof(("metadata" -> 'day')) NOT IN ('number', 'boolean', 'object', 'array', 'null')`,
    );
    expect(a.estimateWhere.text).not.toContain(`jsonb_typeof(("metadata" -> 'day'))`);
    expect(a.estimateWhere.text).toContain(`("metadata" ->> 'day') >= $1::text`);
    expect(a.estimateWhere.text).toContain(`jsonb_typeof(("metadata" -> 'price')) = 'number'`); // the indexed CASE
    expect(a.estimateWhere.values).toEqual(a.where.values);
    const typed = analyzeFilter({ tenant: { in: ['7'] } }, textKeys);
    expect(typed.estimateWhere.text).toBe(`(("metadata" ->> 'tenant') = $1::text)`);
    const plain = analyzeFilter({ tenant: 't7' }, textKeys);
    expect(plain.estimateWhere).toBe(plain.where);
  });

  it('reads the key path from the server’s deparsed index expression', () => {
    expect(textExpressionKeyPath('metadata', "(metadata ->> 'tenant'::text)")).toEqual(['tenant']);
    expect(textExpressionKeyPath('metadata', "(metadata #>> '{a,b}'::text[])")).toEqual(['a', 'b']);
    expect(textExpressionKeyPath('Meta', `("Meta" ->> 'x'::text)`)).toEqual(['x']);
    expect(textExpressionKeyPath('metadata', "(metadata -> 'x'::text)")).toBeUndefined();
    expect(textExpressionKeyPath('metadata', "lower((metadata ->> 'x'::text))")).toBeUndefined();
    expect(textExpressionKeyPath('metadata', "(metadata ->> 'a b'::text)")).toBeUndefined();
    expect(textExpressionKeyPath('metadata', "(metadata #>> '{a,null}'::text[])")).toBeUndefined();
    expect(textExpressionKeyPath('other', "(metadata ->> 'x'::text)")).toBeUndefined();
  });
});

describe('compileFilter: string conditions on keys with a B-tree on their string expression', () => {
  const DAY = `(CASE WHEN jsonb_typeof(("metadata" -> 'day')) = 'string' THEN ("metadata" ->> 'day') END)`;
  const keys: CompileFilterOptions = {
    ...withArticleIndex,
    textIndexKeys: new Set(['day', 'tenant']),
    stringIndexKeys: new Set(['day', 'a.b', 'type', 'a key']),
  };
  it('writes ranges, eq and in of strings on the string expression, with no type test; it wins over the text form', () => {
    expect(metadataStringExpression('"metadata"', ['day'])).toBe(DAY);
    expect(compile({ day: { gte: '2026-01-01', lt: '2026-01-12' } }, keys)).toEqual({
      text: `((${DAY} >= $1::text) AND (${DAY} < $2::text))`,
      values: ['2026-01-01', '2026-01-12'],
    });
    // '7' could be a number's text: the string expression is NULL for numbers, so still no type test.
    expect(compile({ day: { in: ['7', 'x'] } }, keys)).toEqual({
      text: `(${DAY} = ANY($1::text[]))`,
      values: [['7', 'x']],
    });
    expect(compile({ day: '7' }, keys)).toEqual({ text: `(${DAY} = $1::text)`, values: ['7'] });
    expect(compile({ 'a.b': { lt: 'm' } }, keys).text).toBe(
      `((CASE WHEN jsonb_typeof(("metadata" #> '{a,b}')) = 'string' THEN ("metadata" #>> '{a,b}') END) < $1::text)`,
    );
    // Numbers keep the numeric form and the containment; a bound key never uses the expression.
    expect(compile({ day: { gte: 3 } }, keys).text).toBe(
      `((CASE WHEN jsonb_typeof(("metadata" -> 'day')) = 'number' THEN ("metadata" -> 'day')::numeric END) >= $1::numeric)`,
    );
    expect(compile({ day: 7 }, keys).text).toBe('("metadata" @> $1::jsonb)');
    expect(compile({ 'a key': { gte: 'x' } }, keys).text).toBe(
      `(CASE WHEN jsonb_typeof(("metadata" -> $1::text)) = 'string' THEN ("metadata" ->> $2::text) >= $3::text END)`,
    );
    // Only the text form: the type test stays.
    expect(compile({ tenant: { in: ['7'] } }, keys).text).toContain('NOT IN');
    // A configured partial-index predicate keeps its literal form (the string equality beside it is exact).
    expect(compile({ type: 'article' }, keys).text).toBe(`(("metadata" ->> 'type'::text) = 'article'::text)`);
    const analyzed = analyzeFilter({ day: { gte: '2026-01-01' } }, keys);
    expect(analyzed.estimateWhere).toBe(analyzed.where);
  });

  it('reads the key path from the server’s deparsed string expression (pretty-printed on several lines)', () => {
    const one =
      "(\nCASE\n    WHEN jsonb_typeof(metadata -> 'day'::text) = 'string'::text THEN metadata ->> 'day'::text\n    ELSE NULL::text\nEND)";
    const many =
      "(\nCASE\n    WHEN jsonb_typeof(metadata #> '{a,b}'::text[]) = 'string'::text THEN metadata #>> '{a,b}'::text[]\n    ELSE NULL::text\nEND)";
    expect(stringExpressionKeyPath('metadata', one)).toEqual(['day']);
    expect(stringExpressionKeyPath('metadata', many)).toEqual(['a', 'b']);
    expect(stringExpressionKeyPath('Meta', one.replaceAll('metadata', '"Meta"'))).toEqual(['day']);
    expect(stringExpressionKeyPath('other', one)).toBeUndefined();
    // Another type, or the test of one key with the text of another: not the string expression.
    expect(stringExpressionKeyPath('metadata', one.replace("= 'string'", "= 'number'"))).toBeUndefined();
    expect(stringExpressionKeyPath('metadata', one.replace("->> 'day'", "->> 'night'"))).toBeUndefined();
    expect(stringExpressionKeyPath('metadata', "(metadata ->> 'day'::text)")).toBeUndefined();
    expect(textExpressionKeyPath('metadata', one)).toBeUndefined();
  });
});

const PRICE_NUMBER = `(CASE WHEN jsonb_typeof(("metadata" -> 'price')) = 'number' THEN ("metadata" -> 'price')::numeric END)`;

describe('compileFilter: ranges', () => {
  it.each([
    ['gt', '>'],
    ['gte', '>='],
    ['lt', '<'],
    ['lte', '<='],
  ])('%s on a number compares the numeric expression a B-tree can index, only JSON numbers', (op, sqlOp) => {
    expect(compile({ price: { [op]: 10 } })).toEqual({
      text: `(${PRICE_NUMBER} ${sqlOp} $1::numeric)`,
      values: [10],
    });
  });

  it.each([
    ['gt', '>'],
    ['gte', '>='],
    ['lt', '<'],
    ['lte', '<='],
  ])('%s on a string compares ->> text (B-tree), only on JSON strings', (op, sqlOp) => {
    expect(compile({ name: { [op]: 'm' } })).toEqual({
      text: `(("metadata" ->> 'name') ${sqlOp} $1::text AND jsonb_typeof(("metadata" -> 'name')) NOT IN ('number', 'boolean', 'object', 'array', 'null'))`,
      values: ['m'],
    });
  });

  it('writes the expressions of filter-expressions.ts, character for character', () => {
    const column = '"metadata"';
    expect(compile({ price: { gt: 1 } }).text).toBe(
      `(${metadataNumberExpression(column, ['price'])} > $1::numeric)`,
    );
    expect(compile({ 'a.b': { lt: 'x' } }).text).toBe(
      `(${metadataTextExpression(column, ['a', 'b'])} < $1::text AND jsonb_typeof(${metadataJsonExpression(column, ['a', 'b'])}) NOT IN ('number', 'boolean', 'object', 'array', 'null'))`,
    );
    const aliased = compileFilter({ price: { gt: 1 } }, { ...options, metadataColumn: raw('d."metadata"') });
    expect(aliased.text).toBe(`(${metadataNumberExpression('d."metadata"', ['price'])} > $1::numeric)`);
  });

  it('ANDs several operators on one key', () => {
    expect(compile({ price: { gte: 10, lt: 20 } })).toEqual({
      text: `((${PRICE_NUMBER} >= $1::numeric) AND (${PRICE_NUMBER} < $2::numeric))`,
      values: [10, 20],
    });
  });

  it('binds keys that cannot be literals, in the CASE forms', () => {
    expect(compile({ "we'ird": { gt: 10 } })).toEqual({
      text: `(CASE WHEN jsonb_typeof(("metadata" -> $1::text)) = 'number' THEN ("metadata" -> $2::text)::numeric > $3::numeric END)`,
      values: ["we'ird", "we'ird", 10],
    });
    expect(compile({ 'a b': { lte: 'm' } })).toEqual({
      text: `(CASE WHEN jsonb_typeof(("metadata" -> $1::text)) = 'string' THEN ("metadata" ->> $2::text) <= $3::text END)`,
      values: ['a b', 'a b', 'm'],
    });
    // `'{a,null}'` would be ARRAY['a', NULL]: such a path stays bound.
    expect(compile({ 'a.NULL': { gt: 1 } }).values).toEqual([['a', 'NULL'], ['a', 'NULL'], 1]);
    expect(compile({ null: { gt: 1 } }).text).toBe(
      `((CASE WHEN jsonb_typeof(("metadata" -> 'null')) = 'number' THEN ("metadata" -> 'null')::numeric END) > $1::numeric)`,
    );
    // A column given with bound values cannot be written into the literal expressions.
    const bound = compileFilter({ price: { gt: 1 } }, { ...options, metadataColumn: sql`${'m'}` });
    expect(bound.values).toEqual(['m', 'price', 'm', 'price', 1]);
  });
});

describe('compileFilter: exists / contains', () => {
  it('tests presence with -> IS [NOT] NULL', () => {
    expect(compile({ n: { exists: true } })).toEqual({
      text: `(("metadata" -> 'n') IS NOT NULL)`,
      values: [],
    });
    expect(compile({ n: { exists: false } })).toEqual({ text: `(("metadata" -> 'n') IS NULL)`, values: [] });
    expect(compile({ 'n m': { exists: true } })).toEqual({
      text: '(("metadata" -> $1::text) IS NOT NULL)',
      values: ['n m'],
    });
  });

  it('writes contains as whole-column @> so a GIN index can serve it', () => {
    expect(compile({ tags: { contains: ['a', 'b'] } })).toEqual({
      text: '("metadata" @> $1::jsonb)',
      values: ['{"tags":["a","b"]}'],
    });
    expect(compile({ 'author.name': { contains: 'Ada' } }).values).toEqual(['{"author":{"name":"Ada"}}']);
    expect(compile({ author: { contains: { name: 'Ada', langs: ['en'] } } }).values).toEqual([
      '{"author":{"name":"Ada","langs":["en"]}}',
    ]);
  });
});

describe('compileFilter: nested keys', () => {
  it('nests the containment document for equality and in', () => {
    expect(compile({ 'author.name': 'Ada' })).toEqual({
      text: '("metadata" @> $1::jsonb)',
      values: ['{"author":{"name":"Ada"}}'],
    });
    expect(compile({ 'a.b.c': { in: [1, 'x'] } }).values).toEqual([
      ['{"a":{"b":{"c":1}}}', '{"a":{"b":{"c":"x"}}}'],
    ]);
  });

  it('uses #>> / #> with a path literal for ranges and exists', () => {
    expect(compile({ 'a.b.c': { gt: 1 } })).toEqual({
      text: `((CASE WHEN jsonb_typeof(("metadata" #> '{a,b,c}')) = 'number' THEN ("metadata" #> '{a,b,c}')::numeric END) > $1::numeric)`,
      values: [1],
    });
    expect(compile({ 'a.b': { exists: true } })).toEqual({
      text: `(("metadata" #> '{a,b}') IS NOT NULL)`,
      values: [],
    });
    expect(compile({ 'a.b c': { exists: true } })).toEqual({
      text: '(("metadata" #> $1::text[]) IS NOT NULL)',
      values: [['a', 'b c']],
    });
  });
});

describe('compileFilter: and / or / not', () => {
  const eq = '("metadata" @> $1::jsonb)';
  it('ANDs the keys of one object', () => {
    expect(compile({ type: 'a', lang: 'en' })).toEqual({
      text: '(("metadata" @> $1::jsonb) AND ("metadata" @> $2::jsonb))',
      values: ['{"type":"a"}', '{"lang":"en"}'],
    });
  });

  it('compiles or, and, not and their nesting', () => {
    expect(compile({ or: [{ type: 'a' }, { type: 'b' }] })).toEqual({
      text: '(("metadata" @> $1::jsonb) OR ("metadata" @> $2::jsonb))',
      values: ['{"type":"a"}', '{"type":"b"}'],
    });
    expect(compile({ not: { type: 'a' } })).toEqual({
      text: `(${eq} IS NOT TRUE)`,
      values: ['{"type":"a"}'],
    });
    expect(compile({ and: [{ x: 1 }, { or: [{ y: 2 }, { not: { z: 3 } }] }] })).toEqual({
      text:
        '(("metadata" @> $1::jsonb) AND (("metadata" @> $2::jsonb)' +
        ' OR (("metadata" @> $3::jsonb) IS NOT TRUE)))',
      values: ['{"x":1}', '{"y":2}', '{"z":3}'],
    });
  });

  it('recognises ne, nin, not and exists: false as negations of the new forms', () => {
    for (const f of [
      { or: [{ a: 'x' }, { a: { ne: 'x' } }] },
      { or: [{ a: { ne: 'x' } }, { not: { a: 'x' } }, { a: 'x' }] },
      { or: [{ 'a.b': 1 }, { 'a.b': { ne: 1 } }] },
      { or: [{ a: { in: ['x', 2, null] } }, { a: { nin: ['x', 2, null] } }] },
      { or: [{ a: { exists: true } }, { a: { exists: false } }] },
      { or: [{ a: { gt: 'm' } }, { not: { a: { gt: 'm' } } }] },
    ]) {
      expect(analyzeFilter(f, options).everyRow, JSON.stringify(f)).toBe(true);
    }
    expect(compile({ and: [{ a: 'x' }, { a: { ne: 'x' } }] }).text).toBe('FALSE');
    expect(compile({ and: [{ a: 1 }, { a: { ne: '1' } }] }).text).not.toBe('FALSE'); // different values
  });

  it('unwraps single-element lists and defines empty ones', () => {
    expect(compile({ or: [{ type: 'a' }] })).toEqual(compile({ type: 'a' }));
    expect(compile({ and: [{ type: 'a' }] })).toEqual(compile({ type: 'a' }));
    expect(compile({ or: [] })).toEqual({ text: 'FALSE', values: [] });
    expect(compile({ and: [] })).toEqual({ text: 'TRUE', values: [] });
    expect(compile({ not: {} })).toEqual({ text: 'FALSE', values: [] }); // folded: it means no row
  });
});

describe('compileFilter: createdAt', () => {
  it('compares the created-at column with Date parameters', () => {
    const from = new Date('2024-01-01T00:00:00Z');
    const to = new Date('2024-02-01T00:00:00Z');
    expect(compile({ createdAt: { gte: from, lt: to } })).toEqual({
      text: '(("created_at" >= $1) AND ("created_at" < $2))',
      values: [from, to],
    });
    expect(compile({ createdAt: { gt: from } }).text).toBe('("created_at" > $1)');
    expect(compile({ createdAt: { lte: to } }).text).toBe('("created_at" <= $1)');
  });

  it('uses the configured column identifier', () => {
    const s = compile(
      { createdAt: { gt: new Date(0) } },
      { ...options, createdAtColumn: raw('d."created_at"') },
    );
    expect(s.text).toBe('(d."created_at" > $1)');
  });
});

describe('compileFilter: partial-index predicates', () => {
  const literal = `(("metadata" ->> 'type'::text) = 'article'::text)`;

  it('writes an equality that matches a configured predicate as its literal SQL', () => {
    expect(compile({ type: 'article' }, withArticleIndex)).toEqual({ text: literal, values: [] });
    expect(compile({ type: { eq: 'article' } }, withArticleIndex)).toEqual({ text: literal, values: [] });
    expect(compile({ lang: 'en-GB' }, withArticleIndex)).toEqual({
      text: `(("metadata" ->> 'lang'::text) = 'en-GB'::text)`,
      values: [],
    });
  });

  it('keeps the literal inside larger filters', () => {
    expect(compile({ type: 'article', price: { lt: 5 } }, withArticleIndex)).toEqual({
      text: `(${literal} AND (${PRICE_NUMBER} < $1::numeric))`,
      values: [5],
    });
    expect(compile({ and: [{ type: 'article' }, { not: { lang: 'en-GB' } }] }, withArticleIndex).text).toBe(
      `(${literal} AND ((("metadata" ->> 'lang'::text) = 'en-GB'::text) IS NOT TRUE))`,
    );
    // A condition AND-ed with its own negation holds on no row.
    expect(compile({ and: [{ type: 'article' }, { not: { type: 'article' } }] }, withArticleIndex).text).toBe(
      'FALSE',
    );
  });

  it('binds everything that does not match a predicate exactly', () => {
    const bound = '("metadata" @> $1::jsonb)';
    expect(compile({ type: 'note' }, withArticleIndex)).toEqual({ text: bound, values: ['{"type":"note"}'] });
    expect(compile({ type: 'Article' }, withArticleIndex).values).toEqual(['{"type":"Article"}']);
    expect(compile({ 'type.x': 'article' }, withArticleIndex).values).toEqual(['{"type":{"x":"article"}}']);
    expect(compile({ type: { in: ['article'] } }, withArticleIndex).values).toEqual([['{"type":"article"}']]);
    expect(compile({ type: 'article' }).values).toEqual(['{"type":"article"}']);
  });

  it('writes ne of a predicate value as the negation of its literal', () => {
    expect(compile({ type: { ne: 'article' } }, withArticleIndex)).toEqual({
      text: `(${literal} IS NOT TRUE)`,
      values: [],
    });
  });

  it('adds the containment where ->> could also read a number or a boolean as the value', () => {
    const numeric: CompileFilterOptions = {
      ...options,
      partialIndexPredicates: [
        { key: 'n', value: '10' },
        { key: 'n', value: '-2.5' },
        { key: 'flag', value: 'true' },
        { key: 'n', value: '10a' },
      ],
    };
    expect(compile({ n: '10' }, numeric)).toEqual({
      text: `((("metadata" ->> 'n'::text) = '10'::text) AND ("metadata" @> $1::jsonb))`,
      values: ['{"n":"10"}'],
    });
    expect(compile({ n: '-2.5' }, numeric).values).toEqual(['{"n":"-2.5"}']);
    expect(compile({ flag: 'true' }, numeric).values).toEqual(['{"flag":"true"}']);
    expect(compile({ n: '10a' }, numeric)).toEqual({
      text: `(("metadata" ->> 'n'::text) = '10a'::text)`,
      values: [],
    });
  });

  it('reports the predicates that are top-level conjuncts (a partial index can serve the query)', () => {
    const [article, en] = withArticleIndex.partialIndexPredicates as PartialIndexPredicate[];
    const predicates = (f: unknown) => analyzeFilter(f as LooseFilter, withArticleIndex).partialPredicates;
    expect(predicates({ type: 'article' })).toEqual([article]);
    expect(predicates({ type: 'article' })[0]).toBe(article);
    expect(predicates({ type: 'article', price: { lt: 5 }, and: [{ lang: 'en-GB' }] })).toEqual([
      article,
      en,
    ]);
    expect(predicates({ and: [{ type: 'article' }, { type: { eq: 'article' } }] })).toEqual([article]);
    expect(predicates({ or: [{ type: 'article' }, { lang: 'en-GB' }] })).toEqual([]);
    expect(predicates({ or: [{ type: 'article' }] })).toEqual([article]);
    expect(predicates({ not: { type: 'article' } })).toEqual([]);
    expect(predicates({ type: { in: ['article'] } })).toEqual([]);
    expect(predicates({ type: 'note' })).toEqual([]);
    expect(predicates({ and: [{ type: 'article' }, { or: [] }] })).toEqual([]); // no row: FALSE
    expect(predicates({})).toEqual([]);
    expect(analyzeFilter({ type: 'article' }, options).partialPredicates).toEqual([]);
  });

  it('builds the same SQL for the index DDL', () => {
    expect(partialIndexPredicateSql(M, { key: 'type', value: 'article' }).text).toBe(literal);
    expect(partialIndexPredicateSql(raw('metadata'), { key: 'kind', value: 'a/b:c@d e.f' }).text).toBe(
      `((metadata ->> 'kind'::text) = 'a/b:c@d e.f'::text)`,
    );
    expect(partialIndexPredicateSql(M, { key: 'typ_é', value: 'ünï' }).values).toEqual([]);
  });

  it.each([
    [{ key: 'type', value: "it's" }, "partial index value \"it's\" for key 'type'"],
    [{ key: 'type', value: 'a\\b' }, 'partial index value "a\\\\b"'],
    [{ key: "ty'pe", value: 'a' }, 'partial index key "ty\'pe"'],
    [{ key: 'a.b', value: 'a' }, 'partial index key "a.b"'],
    [{ key: '', value: 'a' }, 'partial index key ""'],
    [{ key: 'type', value: '' }, 'partial index value ""'],
    [{ key: 'type', value: 'x'.repeat(201) }, 'partial index value'],
    [{ key: 'type', value: 'a\nb' }, 'partial index value'],
    [{ key: 'type', value: 3 }, 'partial index value 3'],
  ])('rejects predicate %j from configuration', (predicate, message) => {
    const e = thrown(() =>
      compile({}, { ...options, partialIndexPredicates: [predicate as PartialIndexPredicate] }),
    );
    expect(e.code).toBe('INVALID_CONFIG');
    expect(e.message).toContain(message);
    expect(thrown(() => partialIndexPredicateSql(M, predicate as PartialIndexPredicate)).code).toBe(
      'INVALID_CONFIG',
    );
  });
});

describe('compileFilter: validation', () => {
  it.each([
    [[], 'filter: expected a filter object, got an array'],
    ['type', 'filter: expected a filter object, got the string "type"'],
    [new Date(0), 'filter: expected a filter object, got a Date'],
    [
      { price: { gtt: 1 } },
      "filter.price.gtt: unknown operator 'gtt'; valid operators: eq, ne, in, nin, gt, gte, lt, lte, exists, contains",
    ],
    [
      { and: [{ a: 1 }, { price: { gt: {} } }] },
      'filter.and[1].price.gt: expected a number or a string, got an object',
    ],
    [{ price: { gt: true } }, 'filter.price.gt: expected a number or a string, got a boolean'],
    [{ price: { gt: null } }, 'filter.price.gt: expected a number or a string, got null'],
    [{ price: { lt: Number.POSITIVE_INFINITY } }, 'filter.price.lt: Infinity is not a finite number'],
    [{ price: Number.NaN }, 'filter.price: NaN is not a finite number'],
    [{ price: { eq: [1] } }, 'filter.price.eq: expected a string, number, boolean or null, got an array'],
    [{ price: { ne: {} } }, 'filter.price.ne: expected a string, number, boolean or null, got an object'],
    [{ tags: ['a'] }, 'filter.tags: an array is not a condition: use { in: [...] } or { contains: [...] }'],
    [
      { tags: {} },
      'filter.tags: expected at least one operator: eq, ne, in, nin, gt, gte, lt, lte, exists, contains',
    ],
    [{ tags: new Map() }, 'filter.tags: expected a value or an operator object, got an object'],
    [{ type: { in: 'a' } }, 'filter.type.in: expected an array, got the string "a"'],
    [
      { type: { nin: ['a', {}] } },
      'filter.type.nin[1]: expected a string, number, boolean or null, got an object',
    ],
    [{ type: { exists: 'yes' } }, 'filter.type.exists: expected true or false, got the string "yes"'],
    [
      { type: { contains: { a: [1, () => 1] } } },
      'filter.type.contains.a[1]: expected a JSON value, got a function',
    ],
    [{ type: { contains: { d: new Date(0) } } }, 'filter.type.contains.d: expected a JSON value, got a Date'],
    [{ type: { contains: [Number.NaN] } }, 'filter.type.contains[0]: NaN is not a finite number'],
    [{ '': 1 }, 'filter[""]: metadata key "" is empty or has an empty path segment'],
    [{ 'a..b': 1 }, 'filter["a..b"]: metadata key "a..b" is empty or has an empty path segment'],
    [{ '.a': 1 }, 'filter[".a"]: metadata key ".a" is empty or has an empty path segment'],
    [{ 'a.': 1 }, 'filter["a."]: metadata key "a." is empty or has an empty path segment'],
    [{ or: { type: 'a' } }, 'filter.or: expected an array of filters, got an object'],
    [{ and: [{ type: 'a' }, 'b'] }, 'filter.and[1]: expected a filter object, got the string "b"'],
    [{ not: [{ type: 'a' }] }, 'filter.not: expected a filter object, got an array'],
    [
      { or: [{ not: { 'weird key': { in: [[]] } } }] },
      'filter.or[0].not["weird key"].in[0]: expected a string, number, boolean or null, got an array',
    ],
    [
      { createdAt: '2024-01-01' },
      'filter.createdAt: expected { gt, gte, lt, lte } with Dates, got the string "2024-01-01"',
    ],
    [{ createdAt: {} }, 'filter.createdAt: expected at least one of gt, gte, lt, lte'],
    [
      { createdAt: { after: new Date() } },
      "filter.createdAt.after: unknown operator 'after'; createdAt accepts: gt, gte, lt, lte",
    ],
    [
      { createdAt: { gte: '2024-01-01' } },
      'filter.createdAt.gte: expected a valid Date in years 1-9999, got the string "2024-01-01"',
    ],
    [
      { createdAt: { gte: new Date('nope') } },
      'filter.createdAt.gte: expected a valid Date in years 1-9999, got an Invalid Date',
    ],
  ])('rejects %j', (filter, message) => {
    const e = thrown(() => compile(filter));
    expect(e.code).toBe('INVALID_FILTER');
    expect(e.message).toBe(message);
  });

  it('limits nesting depth', () => {
    let deep: Record<string, unknown> = { type: 'a' };
    for (let i = 0; i < 40; i++) deep = { not: deep };
    expect(thrown(() => compile(deep)).message).toMatch(/^filter(\.not)+: nested deeper than 32 levels$/);
    let json: unknown = 1;
    for (let i = 0; i < 40; i++) json = [json];
    expect(thrown(() => compile({ a: { contains: json } })).message).toContain(
      'nested deeper than 32 levels',
    );
  });

  it('shortens long strings in messages', () => {
    const e = thrown(() => compile({ type: { in: 'x'.repeat(10_000) } }));
    expect(e.message.length).toBeLessThan(120);
  });
});

describe('Filter types', () => {
  type Meta = {
    type: 'article' | 'note';
    price: number;
    draft?: boolean;
    author: { name: string; age?: number };
    tags: string[];
  };

  it('checks keys, dotted paths and operand types when the metadata type is given', () => {
    const ok: Filter<Meta> = {
      type: 'article',
      price: { gte: 1, lt: 10 },
      draft: { ne: true },
      'author.name': { in: ['Ada'] },
      'author.age': { gt: 30 },
      tags: { contains: ['a'] },
      author: { contains: { name: 'Ada' } },
      or: [{ type: { eq: 'note' } }, { not: { price: 0 } }],
      createdAt: { gte: new Date(0) },
    };
    expect(compile(ok).values.length).toBeGreaterThan(0);
    // @ts-expect-error unknown key
    const unknownKey: Filter<Meta> = { colour: 'red' };
    // @ts-expect-error wrong literal
    const wrongLiteral: Filter<Meta> = { type: 'faq' };
    // @ts-expect-error gt on a number field takes a number
    const wrongOperand: Filter<Meta> = { price: { gt: 'ten' } };
    // @ts-expect-error contains on string[] takes an array
    const wrongContains: Filter<Meta> = { tags: { contains: 'a' } };
    // @ts-expect-error nested path value type
    const wrongNested: Filter<Meta> = { 'author.name': 3 };
    expect([unknownKey, wrongLiteral, wrongOperand, wrongContains, wrongNested]).toHaveLength(5);
  });

  it('accepts any key when metadata is open', () => {
    expectTypeOf<Filter>().toEqualTypeOf<LooseFilter>();
    const f: Filter = { anything: 1, 'a.b': { gt: 'x' }, and: [{ z: null }], createdAt: { lt: new Date() } };
    expect(compile(f).text).not.toBe('TRUE');
  });
});
