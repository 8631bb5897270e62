import { describe, expect, it } from 'vitest';
import { resolveStoreConfig } from '../../src/store/config.js';
import { prepareCopyRow } from '../../src/store/copy.js';
import { checkId, checkIds, metadataJson, prepareRow, vectorSql } from '../../src/store/input.js';
import { thrown } from '../support/pg-vector-error.js';

const config = resolveStoreConfig({ dimensions: 3 });

describe('unpaired surrogates are refused wherever text goes (issue 12, item 2)', () => {
  it.each([
    [{ id: 'a\ud800', content: 'x' }, 'docs[2].id has an unpaired UTF-16 surrogate at index 1'],
    [{ id: 'a\udc00', content: 'x' }, 'docs[2].id has an unpaired UTF-16 surrogate at index 1'],
    [{ content: '\udfffx' }, 'docs[2].content has an unpaired UTF-16 surrogate at index 0'],
    [
      { content: 'x', metadata: { tag: 'a\ud83d' } },
      'docs[2].metadata.tag has an unpaired UTF-16 surrogate at index 1',
    ],
    [
      { content: 'x', metadata: { list: ['ok', '\ud800'] } },
      'docs[2].metadata.list[1] has an unpaired UTF-16 surrogate at index 0',
    ],
    [
      { content: 'x', metadata: { 'k\ud800': 1 } },
      'docs[2].metadata key "k\\ud800" has an unpaired UTF-16 surrogate at index 1',
    ],
    [
      { content: 'x', metadata: { 'k\u0000': 1 } },
      'docs[2].metadata key "k\\u0000" has a NUL character (\\u0000) at index 1',
    ],
    [{ content: 'a\u0000b' }, 'docs[2].content has a NUL character (\\u0000) at index 1'],
  ])('%j', (doc, message) => {
    for (const prepare of [
      () => prepareRow(config, doc, 'docs[2]', 'text', false),
      () => prepareCopyRow(config, doc, 'docs[2]', false),
    ]) {
      const e = thrown(prepare);
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toBe(message);
    }
  });

  it('ids given to reads and deletes too; surrogate pairs are fine', () => {
    expect(thrown(() => checkIds(['ok', 'b\ud800'], 'ids')).message).toBe(
      'ids[1] has an unpaired UTF-16 surrogate at index 1',
    );
    expect(checkId('😀', 'id')).toBe('😀');
    expect(metadataJson({ '😀': '😀' }, 'm')).toBe('{"😀":"😀"}');
  });
});

describe('hostile values give PgVectorError, never TypeError (issue 12, item 3)', () => {
  it.each([
    [Object.create(null), 'docs[0].content must be a string, got an object'],
    [1n, 'docs[0].content must be a string, got a bigint'],
    [Symbol('s'), 'docs[0].content must be a string, got a symbol'],
  ])('content %s', (content, message) => {
    expect(thrown(() => prepareRow(config, { content }, 'docs[0]', 'text', false)).message).toBe(message);
  });

  it('a document without a prototype is a document; odd ids and createdAt are described', () => {
    const doc = Object.assign(Object.create(null), { content: 'x' });
    expect(prepareRow(config, doc, 'docs[0]', 'text', false).content).toBe('x');
    expect(thrown(() => prepareRow(config, { content: 'x', id: 1n }, 'd', 'text', false)).message).toBe(
      'd.id must be a string, got a bigint',
    );
    expect(
      thrown(() => prepareRow(config, { content: 'x', createdAt: Symbol() }, 'd', 'text', false)).message,
    ).toBe('d.createdAt must be a valid Date in years 1-9999, got a symbol');
    expect(
      thrown(() => prepareRow(config, { content: 'x', embedding: Object.create(null) }, 'd', 'text', false))
        .code,
    ).toBe('INVALID_VECTOR');
    expect(thrown(() => metadataJson({ a: Object.create(Map.prototype) }, 'm')).message).toBe(
      'm.a is an object (Map), not a JSON value',
    );
  });
});

describe('cyclic metadata is reported as cyclic (issue 12, item 7)', () => {
  it('names the place that refers back', () => {
    const meta: Record<string, unknown> = { a: { b: [1] } };
    (meta.a as Record<string, unknown>).back = meta;
    expect(thrown(() => metadataJson(meta, 'doc.metadata')).message).toBe(
      'doc.metadata.a.back refers back to an enclosing object (a cycle), which JSON cannot hold',
    );
    const list: unknown[] = [];
    list.push(list);
    expect(thrown(() => metadataJson({ list }, 'm')).message).toBe(
      'm.list[0] refers back to an enclosing object (a cycle), which JSON cannot hold',
    );
    const shared = { x: 1 };
    expect(metadataJson({ a: shared, b: shared }, 'm')).toBe('{"a":{"x":1},"b":{"x":1}}');
  });
});

describe('createdAt: years 1-9999 on every path (issue 12, item 5)', () => {
  const yearZero = new Date(Date.UTC(2000, 0, 1));
  yearZero.setUTCFullYear(0);
  it.each([
    [new Date(Date.UTC(10_000, 0, 1)), 'a Date in year 10000'],
    [yearZero, 'a Date in year 0'],
    [new Date(8.64e15), 'a Date in year 275760'],
    [new Date('nope'), 'an Invalid Date'],
  ])('refuses %s', (createdAt, got) => {
    const message = `d.createdAt must be a valid Date in years 1-9999, got ${got}`;
    expect(thrown(() => prepareRow(config, { content: 'x', createdAt }, 'd', 'text', false)).message).toBe(
      message,
    );
    expect(thrown(() => prepareCopyRow(config, { content: 'x', createdAt }, 'd', false)).message).toBe(
      message,
    );
  });

  it('keeps a copy of the Date it validated', () => {
    const createdAt = new Date(Date.UTC(2024, 0, 1));
    const row = prepareRow(config, { content: 'x', createdAt }, 'd', 'text', false);
    createdAt.setUTCFullYear(20_000);
    expect(row.createdAt?.toISOString()).toBe('2024-01-01T00:00:00.000Z');
  });
});

describe('a document is validated and encoded from one snapshot (issue 12, item 5)', () => {
  function flipping<T>(first: T, later: unknown): { get: () => T; reads: () => number } {
    let n = 0;
    return {
      get: () => (n++ === 0 ? first : (later as T)),
      reads: () => n,
    };
  }

  it('reads each field of the document once', () => {
    for (const prepare of [
      (doc: unknown) => prepareRow(config, doc, 'd', 'text', true),
      (doc: unknown) => prepareCopyRow(config, doc, 'd', true),
    ]) {
      const id = flipping('a', 'a\ud800');
      const content = flipping('ok', 'bad\u0000');
      const createdAt = flipping(new Date(Date.UTC(2024, 0, 1)), new Date(Date.UTC(12_000, 0, 1)));
      const doc = Object.defineProperties(
        {},
        {
          id: { get: id.get, enumerable: true },
          content: { get: content.get, enumerable: true },
          createdAt: { get: createdAt.get, enumerable: true },
        },
      );
      const row = prepare(doc);
      expect(row).toMatchObject({ id: 'a', content: 'ok' });
      expect(row.createdAt?.getUTCFullYear()).toBe(2024);
      expect([id.reads(), content.reads(), createdAt.reads()]).toEqual([1, 1, 1]);
    }
  });

  it('sends the metadata it validated', () => {
    const value = flipping('fine', 'x\u0000');
    const metadata = Object.defineProperty({}, 'tag', { get: value.get, enumerable: true });
    const row = prepareRow(config, { content: 'x', metadata }, 'd', 'text', false);
    expect(row.metadataJson).toBe('{"tag":"fine"}');
    expect(value.reads()).toBe(1);
  });

  it('sends the vector it validated', () => {
    const element = flipping(1, Number.NaN);
    const embedding = [0.5, 0.5, 0];
    Object.defineProperty(embedding, 2, { get: element.get, enumerable: true });
    const row = prepareRow(config, { content: 'x', embedding }, 'd', 'text', false);
    expect(row.embedding?.values).toEqual(['[0.5,0.5,1]']);
    expect(element.reads()).toBe(1);
    const copy = prepareCopyRow(config, { content: 'x', embedding: [0.5, 0.5, 2] }, 'd', false);
    expect(copy.embedding).toEqual({ dense: [0.5, 0.5, 2] });
  });
});

describe('hostile vectors give PgVectorError (issue 12, item 3)', () => {
  it('a sparse vector whose dims is a symbol or a BigInt', () => {
    const sparse = resolveStoreConfig({ vectorType: 'sparsevec', dimensions: 5 });
    for (const dims of [Symbol('d'), 5n, Object.create(null)]) {
      const e = thrown(() => vectorSql(sparse, { indices: [0], values: [1], dims }, 'q', 'text', false));
      expect(e.code).toBe('DIMENSION_MISMATCH');
      expect(e.message).toMatch(/^q: expected 5 dimensions, got (symbol|bigint|object):/);
    }
  });
});
