import { raw, type Sql } from '@prisma/client/runtime/client';
import { describe, expect, it } from 'vitest';
import { HashingEmbedder } from '../../src/core/embedder.js';
import { PgVectorError } from '../../src/core/errors.js';
import { compileFilter, type LooseFilter } from '../../src/core/filter.js';
import { METRIC_NAMES, METRICS } from '../../src/core/metric.js';
import {
  serverErrorFields,
  shortenVectorsIn,
  translateDatabaseError,
} from '../../src/core/translate-error.js';
import { vectorParam } from '../../src/core/vector.js';
import { quoteIdentifier, resolveStoreConfig, type VectorStoreConfig } from '../../src/store/config.js';
import { metadataJson, prepareRow, vectorSql } from '../../src/store/input.js';
import { parsePgvectorVersion, pgvectorAtLeast, planSearchTuning } from '../../src/store/search-settings.js';
import {
  buildAnalyzeSql,
  buildApplySettingsSql,
  buildDeleteByIdsSql,
  buildDeleteWhereSql,
  buildExplainSql,
  buildGetByIdsSql,
  buildInsertSql,
  buildReadSettingsSql,
  buildRowSql,
  buildSearchSql,
  buildSetConfigSql,
  buildUpdateSql,
  buildVacuumSql,
  HIT_FIELDS,
  PGVECTOR_VERSION_SQL,
  type SearchSpec,
  settingEntries,
} from '../../src/store/sql.js';
import { batchRows } from '../../src/store/vector-store.js';
import { thrown } from '../support/pg-vector-error.js';

const config = resolveStoreConfig({ dimensions: 3 });
const q = vectorParam([1, 2, 3], 'vector', 3, 'text');
const TRUE = raw('TRUE');

function out(s: Sql): { text: string; values: unknown[] } {
  return { text: s.text, values: s.values };
}

function where(filter: LooseFilter, c = config): Sql {
  return compileFilter(filter, {
    metadataColumn: c.columns.metadata,
    createdAtColumn: c.columns.createdAt,
    partialIndexPredicates: c.partialIndexPredicates,
  });
}

function spec(overrides: Partial<SearchSpec> = {}): SearchSpec {
  return {
    query: q,
    metric: 'cosine',
    k: 10,
    where: TRUE,
    fields: HIT_FIELDS,
    includeEmbedding: false,
    relaxed: false,
    ...overrides,
  };
}

const SELECT_ALL =
  '"id" AS "id", "content" AS "content", "metadata" AS "metadata", "created_at" AS "createdAt"';

describe('resolveStoreConfig', () => {
  it('defaults match the Document model', () => {
    const c = resolveStoreConfig();
    expect(c).toMatchObject({
      tableName: 'documents',
      dimensions: 1536,
      vectorType: 'vector',
      metric: 'cosine',
      indexMethod: 'hnsw',
      partialIndexPredicates: [{ key: 'type', value: 'article' }],
      batchSize: 500,
      analyzeThreshold: 1000,
      vectorEncoding: 'auto',
      filteredIterativeScan: 'relaxed_order',
      transactionOptions: { maxWait: 10_000, timeout: 300_000 },
      columnNames: {
        id: 'id',
        content: 'content',
        metadata: 'metadata',
        embedding: 'embedding',
        createdAt: 'created_at',
      },
    });
    expect(c.table.text).toBe('"documents"');
    expect(c.embedder).toBeInstanceOf(HashingEmbedder);
    expect(c.embedder?.dimensions).toBe(1536);
  });

  it('quotes schema, table and columns, keeping their case', () => {
    const c = resolveStoreConfig({
      schema: 'app',
      table: 'Chunks',
      columns: { createdAt: 'createdAt', id: 'chunk_id' },
    });
    expect(c.table.text).toBe('"app"."Chunks"');
    expect(c.tableName).toBe('app.Chunks');
    expect(c.columns.createdAt.text).toBe('"createdAt"');
    expect(c.columns.id.text).toBe('"chunk_id"');
    expect(c.columns.content.text).toBe('"content"');
  });

  it('accepts identifiers of up to 63 characters of letters, digits, _ and $', () => {
    expect(quoteIdentifier(`a${'b'.repeat(62)}`, 'table')).toBe(`"a${'b'.repeat(62)}"`);
    expect(quoteIdentifier('_x$1', 'table')).toBe('"_x$1"');
    for (const bad of [
      `a${'b'.repeat(63)}`,
      '1abc',
      '$x',
      'a-b',
      'a b',
      'a"b',
      'documents; DROP TABLE x',
      '',
      42,
    ]) {
      const e = thrown(() => quoteIdentifier(bad, 'table'));
      expect(e.code).toBe('INVALID_CONFIG');
      expect(e.message).toMatch(/^table must be an identifier/);
    }
    expect(thrown(() => resolveStoreConfig({ columns: { metadata: 'meta data' } })).message).toMatch(
      /^columns\.metadata/,
    );
    expect(thrown(() => resolveStoreConfig({ schema: 'x.y' })).message).toMatch(
      /^schema must be an identifier/,
    );
  });

  it('refuses unknown settings, duplicate columns and values out of range', () => {
    const cases: [VectorStoreConfig, RegExp][] = [
      [{ dimension: 3 } as VectorStoreConfig, /unknown setting 'dimension'/],
      [{ columns: { vector: 'v' } } as VectorStoreConfig, /unknown column setting 'vector'/],
      [{ columns: { content: 'metadata' } }, /column 'metadata' is configured for two purposes/],
      [{ dimensions: 0 }, /dimensions must be an integer from 1 to 16000/],
      [{ dimensions: 16_001 }, /dimensions must be an integer from 1 to 16000/],
      [
        { vectorType: 'bit', dimensions: 64, metric: 'hamming', batchSize: 70_000 },
        /batchSize must be an integer from 1 to 65535/,
      ],
      [
        { vectorType: 'float' as 'vector' },
        /vectorType must be one of 'vector', 'halfvec', 'sparsevec', 'bit'/,
      ],
      [{ metric: 'dot' as 'cosine' }, /metric must be one of/],
      [{ metric: 'hamming' }, /metric 'hamming' is not available for type 'vector'/],
      [{ metric: 'l1', indexMethod: 'ivfflat' }, /index method 'ivfflat' does not support metric 'l1'/],
      [{ indexMethod: 'ivfflat', filteredIterativeScan: 'strict_order' }, /IVFFlat has no 'strict_order'/],
      [{ analyzeThreshold: 0 }, /analyzeThreshold must be an integer ≥ 1 or Infinity/],
      [{ partialIndexPredicates: [{ key: "type'", value: 'article' }] }, /partial index key/],
      [
        { embedder: new HashingEmbedder({ dimensions: 8 }) },
        /embedder.dimensions \(8\) differs from dimensions \(1536\)/,
      ],
      [
        { vectorType: 'bit', metric: 'hamming', embedder: new HashingEmbedder({ dimensions: 1536 }) },
        /cannot store them/,
      ],
      [{ vectorEncoding: 'json' as 'text' }, /vectorEncoding must be one of 'auto', 'binary', 'text'/],
      [{ transactionOptions: { timeout: -1 } }, /transactionOptions.timeout must be an integer/],
      [
        { transactionOptions: { isolationLevel: 'Serializable' } as never },
        /unknown transactionOptions setting/,
      ],
    ];
    for (const [c, message] of cases) {
      const e = thrown(() => resolveStoreConfig(c));
      expect(e.code).toBe('INVALID_CONFIG');
      expect(e.message).toMatch(message);
    }
    expect(resolveStoreConfig({ analyzeThreshold: Number.POSITIVE_INFINITY }).analyzeThreshold).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(
      resolveStoreConfig({ vectorType: 'bit', dimensions: 64, metric: 'jaccard' }).embedder,
    ).toBeUndefined();
  });
});

describe('write SQL', () => {
  it('a row: DEFAULT for absent id and creation time, NULL (no parameter) for absent metadata and vector', () => {
    expect(out(buildRowSql({ content: 'a', metadataJson: null, embedding: null }))).toEqual({
      text: '(DEFAULT, $1, NULL, NULL, DEFAULT)',
      values: ['a'],
    });
    const at = new Date('2024-01-02T03:04:05.006Z');
    expect(
      out(buildRowSql({ id: 'x', content: 'b', metadataJson: '{"k":1}', embedding: q, createdAt: at })),
    ).toEqual({
      text: '($1, $2, $3::jsonb, $4::vector(3), $5)',
      values: ['x', 'b', '{"k":1}', '[1,2,3]', at],
    });
  });

  it('multi-row INSERT returning ids, and its upsert form', () => {
    const rows = [
      buildRowSql({ content: 'a', metadataJson: null, embedding: q }),
      buildRowSql({ id: 'x', content: 'b', metadataJson: '{}', embedding: null }),
    ];
    const insertInto =
      'INSERT INTO "documents" ("id", "content", "metadata", "embedding", "created_at") VALUES (DEFAULT, $1, NULL, $2::vector(3), DEFAULT), ($3, $4, $5::jsonb, NULL, DEFAULT)';
    expect(out(buildInsertSql(config, rows, { upsert: false }))).toEqual({
      text: `${insertInto} RETURNING "id" AS "id", "created_at" AS "createdAt"`,
      values: ['a', '[1,2,3]', 'x', 'b', '{}'],
    });
    expect(buildInsertSql(config, rows, { upsert: true }).text).toBe(
      `${insertInto} ON CONFLICT ("id") DO UPDATE SET "content" = EXCLUDED."content", "metadata" = EXCLUDED."metadata", "embedding" = EXCLUDED."embedding" RETURNING "id" AS "id", "created_at" AS "createdAt", (xmax = 0) AS "inserted"`,
    );
  });

  it('uses the configured schema, table and column names everywhere', () => {
    const c = resolveStoreConfig({
      schema: 's',
      table: 't',
      dimensions: 2,
      columns: { id: 'pk', content: 'body', metadata: 'meta', embedding: 'vec', createdAt: 'at' },
    });
    const row = buildRowSql({ content: 'a', metadataJson: null, embedding: null });
    expect(buildInsertSql(c, [row], { upsert: false }).text).toBe(
      'INSERT INTO "s"."t" ("pk", "body", "meta", "vec", "at") VALUES (DEFAULT, $1, NULL, NULL, DEFAULT) RETURNING "pk" AS "id", "at" AS "createdAt"',
    );
    expect(buildGetByIdsSql(c, ['a'], true).text).toBe(
      'SELECT "pk" AS "id", "body" AS "content", "meta" AS "metadata", "at" AS "createdAt", "vec"::text AS "embedding" FROM "s"."t" WHERE "pk" = ANY($1::text[])',
    );
    expect(
      buildSearchSql(c, spec({ query: vectorParam([1, 2], 'vector', 2, 'text'), fields: [] })).text,
    ).toBe(
      'SELECT "pk" AS "id", "vec" <=> $1::vector(2) AS "distance" FROM "s"."t" WHERE "vec" IS NOT NULL ORDER BY "distance" LIMIT 10',
    );
    expect(buildAnalyzeSql(c).text).toBe('ANALYZE "s"."t"');
    expect(buildVacuumSql(c).text).toBe('VACUUM (ANALYZE) "s"."t"');
  });

  it('UPDATE sets only the given fields', () => {
    expect(out(buildUpdateSql(config, 'a', { content: 'x' }))).toEqual({
      text: 'UPDATE "documents" SET "content" = $1 WHERE "id" = $2',
      values: ['x', 'a'],
    });
    expect(out(buildUpdateSql(config, 'a', { content: 'x', metadataJson: null, embedding: q }))).toEqual({
      text: 'UPDATE "documents" SET "content" = $1, "metadata" = NULL, "embedding" = $2::vector(3) WHERE "id" = $3',
      values: ['x', '[1,2,3]', 'a'],
    });
    expect(out(buildUpdateSql(config, 'a', { metadataJson: '{"a":1}', embedding: null }))).toEqual({
      text: 'UPDATE "documents" SET "metadata" = $1::jsonb, "embedding" = NULL WHERE "id" = $2',
      values: ['{"a":1}', 'a'],
    });
  });

  it('DELETE and SELECT by ids bind ONE array parameter', () => {
    expect(out(buildDeleteByIdsSql(config, ['a', 'b']))).toEqual({
      text: 'DELETE FROM "documents" WHERE "id" = ANY($1::text[])',
      values: [['a', 'b']],
    });
    expect(out(buildGetByIdsSql(config, ['a'], false))).toEqual({
      text: `SELECT ${SELECT_ALL} FROM "documents" WHERE "id" = ANY($1::text[])`,
      values: [['a']],
    });
  });

  it('DELETE by filter', () => {
    expect(out(buildDeleteWhereSql(config, where({ lang: 'de' })))).toEqual({
      text: 'DELETE FROM "documents" WHERE ("metadata" @> $1::jsonb)',
      values: ['{"lang":"de"}'],
    });
  });

  it('maintenance and version SQL', () => {
    expect(buildAnalyzeSql(config).text).toBe('ANALYZE "documents"');
    expect(buildVacuumSql(config).text).toBe('VACUUM (ANALYZE) "documents"');
    expect(PGVECTOR_VERSION_SQL.text).toBe(
      `SELECT extversion AS "version" FROM pg_extension WHERE extname = 'vector'`,
    );
    expect(buildExplainSql(raw('SELECT 1'), false).text).toBe('EXPLAIN SELECT 1');
    expect(buildExplainSql(raw('SELECT 1'), true).text).toBe('EXPLAIN (ANALYZE, BUFFERS) SELECT 1');
  });
});

describe('search SQL', () => {
  it('binds the vector once, orders by the distance alias with a literal LIMIT, skips NULL vectors', () => {
    expect(out(buildSearchSql(config, spec()))).toEqual({
      text: `SELECT ${SELECT_ALL}, "embedding" <=> $1::vector(3) AS "distance" FROM "documents" WHERE "embedding" IS NOT NULL ORDER BY "distance" LIMIT 10`,
      values: ['[1,2,3]'],
    });
  });

  it('uses each metric operator (vector metrics on vector, bit metrics on bit)', () => {
    const bits = resolveStoreConfig({ vectorType: 'bit', dimensions: 4, metric: 'hamming' });
    const b = vectorParam('1010', 'bit', 4, 'text');
    for (const metric of METRIC_NAMES) {
      const onBits = metric === 'hamming' || metric === 'jaccard';
      const s = buildSearchSql(
        onBits ? bits : config,
        spec({ metric, query: onBits ? b : q, fields: [], k: 3 }),
      );
      const cast = onBits ? 'bit(4)' : 'vector(3)';
      expect(out(s)).toEqual({
        text: `SELECT "id" AS "id", "embedding" ${METRICS[metric].operator} $1::${cast} AS "distance" FROM "documents" WHERE "embedding" IS NOT NULL ORDER BY "distance" LIMIT 3`,
        values: [onBits ? '1010' : '[1,2,3]'],
      });
    }
  });

  it('binary vectors are one Buffer parameter', () => {
    const s = buildSearchSql(config, spec({ query: vectorParam([1, 2, 3], 'vector', 3, 'binary') }));
    expect(s.values).toHaveLength(1);
    expect(s.values[0]).toEqual(Buffer.from([0, 3, 0, 0, 0x3f, 0x80, 0, 0, 0x40, 0, 0, 0, 0x40, 0x40, 0, 0]));
    expect(s.text).toContain('"embedding" <=> $1::vector(3) AS "distance"');
  });

  it('writes a filter on a configured partial index as its literal predicate, the rest bound', () => {
    const s = buildSearchSql(
      config,
      spec({ where: where({ type: 'article', lang: { in: ['en', 'de'] } }), k: 5 }),
    );
    expect(out(s)).toEqual({
      text: `SELECT ${SELECT_ALL}, "embedding" <=> $1::vector(3) AS "distance" FROM "documents" WHERE "embedding" IS NOT NULL AND ((("metadata" ->> 'type'::text) = 'article'::text) AND ("metadata" @> ANY($2::jsonb[]))) ORDER BY "distance" LIMIT 5`,
      values: ['[1,2,3]', ['{"lang":"en"}', '{"lang":"de"}']],
    });
    const other = buildSearchSql(config, spec({ where: where({ type: 'note' }) }));
    expect(other.text).toContain('AND ("metadata" @> $2::jsonb)');
    expect(other.values).toEqual(['[1,2,3]', '{"type":"note"}']);
  });

  it('re-sorts relaxed-order rows in an outer query by distance + 0 (a bare ORDER BY distance is optimised away)', () => {
    const s = buildSearchSql(config, spec({ relaxed: true, where: where({ type: 'article' }) }));
    expect(out(s)).toEqual({
      text: `SELECT * FROM (SELECT ${SELECT_ALL}, "embedding" <=> $1::vector(3) AS "distance" FROM "documents" WHERE "embedding" IS NOT NULL AND (("metadata" ->> 'type'::text) = 'article'::text) ORDER BY "distance" LIMIT 10) AS s ORDER BY s."distance" + 0`,
      values: ['[1,2,3]'],
    });
  });

  it('applies maxDistance outside the LIMIT, bound', () => {
    expect(out(buildSearchSql(config, spec({ maxDistance: 0.25, fields: [] })))).toEqual({
      text: `SELECT * FROM (SELECT "id" AS "id", "embedding" <=> $1::vector(3) AS "distance" FROM "documents" WHERE "embedding" IS NOT NULL ORDER BY "distance" LIMIT 10) AS s WHERE s."distance" <= $2 ORDER BY s."distance"`,
      values: ['[1,2,3]', 0.25],
    });
    expect(buildSearchSql(config, spec({ maxDistance: 0.25, relaxed: true })).text).toMatch(
      /\) AS s WHERE s\."distance" <= \$2 ORDER BY s\."distance" \+ 0$/,
    );
  });

  it('selects only the asked fields, and the embedding as text', () => {
    expect(buildSearchSql(config, spec({ fields: ['createdAt'], includeEmbedding: true })).text).toBe(
      'SELECT "id" AS "id", "created_at" AS "createdAt", "embedding"::text AS "embedding", "embedding" <=> $1::vector(3) AS "distance" FROM "documents" WHERE "embedding" IS NOT NULL ORDER BY "distance" LIMIT 10',
    );
  });
});

describe('settings SQL', () => {
  it('refuses anything but a plain setting name, and a k that is not a positive integer', () => {
    expect(thrown(() => buildSetConfigSql([["x', 'y", '1']])).message).toMatch(/not a pgvector setting name/);
    expect(thrown(() => buildReadSettingsSql(['hnsw.ef_search; SELECT 1'])).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => buildSearchSql(config, spec({ k: 0 }))).message).toBe(
      'k must be a positive integer, got 0',
    );
    expect(
      thrown(() => buildSearchSql(config, spec({ k: '1; DROP TABLE x' as unknown as number }))).code,
    ).toBe('INVALID_ARGUMENT');
  });

  it('maps settings to pgvector names per index method, in a stable order', () => {
    const all = { efSearch: 100, iterativeScan: 'relaxed_order', maxScanTuples: 5000, probes: 7 } as const;
    expect(settingEntries(all, 'hnsw')).toEqual([
      ['hnsw.ef_search', '100'],
      ['hnsw.iterative_scan', 'relaxed_order'],
      ['hnsw.max_scan_tuples', '5000'],
    ]);
    expect(settingEntries(all, 'ivfflat')).toEqual([
      ['ivfflat.iterative_scan', 'relaxed_order'],
      ['ivfflat.probes', '7'],
    ]);
    expect(settingEntries({}, 'hnsw')).toEqual([]);
    expect(settingEntries({ efSearch: 10, iterativeScan: 'off' }, 'hnsw', ['efSearch'])).toEqual([
      ['hnsw.ef_search', '10', 40],
      ['hnsw.iterative_scan', 'off'],
    ]);
    expect(settingEntries({ probes: 1 }, 'ivfflat', ['probes'])).toEqual([['ivfflat.probes', '1', 1]]);
  });

  it('applies settings with literal values (one message with BEGIN), a floor as greatest(value, the server)', () => {
    expect(
      out(
        buildApplySettingsSql([
          ['hnsw.ef_search', '50', 40],
          ['hnsw.iterative_scan', 'relaxed_order'],
          ['hnsw.max_scan_tuples', '80000'],
        ]),
      ),
    ).toEqual({
      text: `SELECT set_config('hnsw.ef_search', greatest(50, coalesce(nullif(current_setting('hnsw.ef_search', true), '')::int, 40))::text, true) AS "hnsw.ef_search", set_config('hnsw.iterative_scan', 'relaxed_order', true) AS "hnsw.iterative_scan", set_config('hnsw.max_scan_tuples', '80000', true) AS "hnsw.max_scan_tuples"`,
      values: [],
    });
    for (const value of ["1'; DROP TABLE x; --", '1.5', 'Relaxed', '', '12345678901']) {
      expect(thrown(() => buildApplySettingsSql([['hnsw.ef_search', value]])).message).toMatch(
        /not a pgvector setting value/,
      );
    }
    expect(thrown(() => buildApplySettingsSql([["x', 'y", '1']])).message).toMatch(
      /not a pgvector setting name/,
    );
  });

  it('sets them for the transaction only (set_config(…, true)), values bound; NULL resets', () => {
    expect(
      out(
        buildSetConfigSql([
          ['hnsw.ef_search', '100'],
          ['hnsw.iterative_scan', null],
        ]),
      ),
    ).toEqual({
      text: `SELECT set_config('hnsw.ef_search', $1, true) AS "hnsw.ef_search", set_config('hnsw.iterative_scan', $2, true) AS "hnsw.iterative_scan"`,
      values: ['100', null],
    });
    expect(out(buildReadSettingsSql(['hnsw.ef_search', 'hnsw.iterative_scan']))).toEqual({
      text: `SELECT current_setting('hnsw.ef_search', true) AS "hnsw.ef_search", current_setting('hnsw.iterative_scan', true) AS "hnsw.iterative_scan"`,
      values: [],
    });
  });
});

describe('planSearchTuning', () => {
  const hnsw = {
    indexMethod: 'hnsw',
    filteredIterativeScan: 'relaxed_order',
    pgvectorVersion: '0.8.7',
  } as const;
  const ivfflat = { ...hnsw, indexMethod: 'ivfflat' } as const;
  const old = { ...hnsw, pgvectorVersion: '0.7.4' } as const;

  it('always sets ef_search (k as a floor: the server keeps a higher value) and the iterative scan', () => {
    expect(planSearchTuning({ k: 10, filtered: false }, hnsw)).toEqual({
      settings: { efSearch: 10, iterativeScan: 'off' },
      relaxed: false,
      warnings: [],
      floors: ['efSearch'],
    });
    // IVFFlat: probes lists hold only so many rows; the iterative scan goes on until k came back.
    expect(planSearchTuning({ k: 10, filtered: false }, ivfflat)).toEqual({
      settings: { iterativeScan: 'relaxed_order', probes: 1 },
      relaxed: true,
      warnings: [],
      floors: ['probes'],
    });
  });

  it('turns on the relaxed iterative scan for filtered searches (or the configured one)', () => {
    expect(planSearchTuning({ k: 10, filtered: true }, hnsw)).toEqual({
      settings: { efSearch: 10, iterativeScan: 'relaxed_order' },
      relaxed: true,
      warnings: [],
      floors: ['efSearch'],
    });
    expect(
      planSearchTuning({ k: 10, filtered: true }, { ...hnsw, filteredIterativeScan: 'strict_order' })
        .settings,
    ).toEqual({ efSearch: 10, iterativeScan: 'strict_order' });
    expect(
      planSearchTuning({ k: 10, filtered: true }, { ...hnsw, filteredIterativeScan: 'off' }).settings,
    ).toEqual({ efSearch: 10, iterativeScan: 'off' });
    expect(planSearchTuning({ k: 10, filtered: true, iterativeScan: 'off' }, hnsw)).toEqual({
      settings: { efSearch: 10, iterativeScan: 'off' },
      relaxed: false,
      warnings: [],
      floors: ['efSearch'],
    });
  });

  it('never lets ef_search cap k: an efSearch below k is raised to k', () => {
    expect(planSearchTuning({ k: 100, filtered: false }, hnsw).settings).toEqual({
      efSearch: 100,
      iterativeScan: 'off',
    });
    const low = planSearchTuning({ k: 100, filtered: false, efSearch: 60 }, hnsw);
    expect(low.settings).toEqual({ efSearch: 100, iterativeScan: 'off' });
    expect(low.floors).toEqual([]);
    expect(planSearchTuning({ k: 100, filtered: true }, hnsw).settings).toEqual({
      efSearch: 100,
      iterativeScan: 'relaxed_order',
    });
    expect(planSearchTuning({ k: 100, filtered: false }, ivfflat).settings).toEqual({
      iterativeScan: 'relaxed_order',
      probes: 1,
    });
  });

  it('passes explicit settings through', () => {
    expect(
      planSearchTuning(
        { k: 5, filtered: false, efSearch: 200, iterativeScan: 'strict_order', maxScanTuples: 50_000 },
        hnsw,
      ),
    ).toEqual({
      settings: { efSearch: 200, iterativeScan: 'strict_order', maxScanTuples: 50_000 },
      relaxed: false,
      warnings: [],
      floors: [],
    });
    expect(planSearchTuning({ k: 5, filtered: true, probes: 20 }, ivfflat)).toEqual({
      settings: { iterativeScan: 'relaxed_order', probes: 20 },
      relaxed: true,
      warnings: [],
      floors: [],
    });
  });

  it('falls back to a larger ef_search (or probes) on pgvector < 0.8, and says so', () => {
    const t = planSearchTuning({ k: 10, filtered: true, maxScanTuples: 100 }, old);
    expect(t.settings).toEqual({ efSearch: 100 });
    expect(t.relaxed).toBe(false);
    expect(t.warnings[0]).toMatch(
      /pgvector 0\.7\.4 has no iterative index scans \(0\.8\.0\+\): used hnsw\.ef_search = 100/,
    );
    expect(t.warnings[1]).toMatch(/maxScanTuples ignored/);
    expect(planSearchTuning({ k: 500, filtered: true }, old).settings).toEqual({ efSearch: 1000 });
    expect(planSearchTuning({ k: 2, filtered: true, efSearch: 300 }, old).settings).toEqual({
      efSearch: 300,
    });
    expect(planSearchTuning({ k: 10, filtered: false, iterativeScan: 'off' }, old)).toEqual({
      settings: { efSearch: 10 },
      relaxed: false,
      warnings: [],
      floors: ['efSearch'],
    });
    const ivf = planSearchTuning({ k: 10, filtered: true }, { ...ivfflat, pgvectorVersion: '0.6.0' });
    expect(ivf.settings).toEqual({ probes: 10 });
    expect(ivf.warnings[0]).toMatch(/used ivfflat\.probes = 10/);
  });

  it('refuses values out of range and settings of the other index method', () => {
    const cases: [Parameters<typeof planSearchTuning>[0], typeof hnsw | typeof ivfflat, RegExp][] = [
      [{ k: 0, filtered: false }, hnsw, /k must be an integer from 1 to 1000/],
      [{ k: 1001, filtered: false }, hnsw, /k must be an integer from 1 to 1000/],
      [{ k: 1.5, filtered: false }, hnsw, /k must be an integer/],
      [{ k: 5, filtered: false, efSearch: 0 }, hnsw, /efSearch must be an integer from 1 to 1000/],
      [{ k: 5, filtered: false, maxScanTuples: 0 }, hnsw, /maxScanTuples must be an integer from 1/],
      [{ k: 5, filtered: false, probes: 40_000 }, ivfflat, /probes must be an integer from 1 to 32768/],
      [{ k: 5, filtered: false, iterativeScan: 'on' as 'off' }, hnsw, /iterativeScan must be one of/],
      [{ k: 5, filtered: false, probes: 3 }, hnsw, /probes tunes IVFFlat scans/],
      [{ k: 5, filtered: false, efSearch: 3 }, ivfflat, /efSearch tunes HNSW scans/],
      [{ k: 5, filtered: false, iterativeScan: 'strict_order' }, ivfflat, /IVFFlat has no 'strict_order'/],
    ];
    for (const [request, context, message] of cases) {
      const e = thrown(() => planSearchTuning(request, context));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toMatch(message);
    }
  });

  it('compares pgvector versions', () => {
    expect(parsePgvectorVersion('0.8.7')).toEqual([0, 8, 7]);
    expect(parsePgvectorVersion('0.8')).toEqual([0, 8, 0]);
    expect(pgvectorAtLeast('0.8.0-dev', '0.8.0')).toBe(true);
    expect(pgvectorAtLeast('0.10.0', '0.8.0')).toBe(true);
    expect(pgvectorAtLeast('0.7.4', '0.8.0')).toBe(false);
    expect(thrown(() => parsePgvectorVersion('vector')).code).toBe('DATABASE_ERROR');
  });
});

describe('batchRows', () => {
  const row = (params: number) => ({ values: new Array(params).fill(0) }) as unknown as Sql;

  it('splits by batchSize, keeping order and each batch start', () => {
    const batches = batchRows(
      Array.from({ length: 7 }, () => row(3)),
      3,
    );
    expect(batches.map((b) => [b.start, b.rows.length])).toEqual([
      [0, 3],
      [3, 3],
      [6, 1],
    ]);
  });

  it('never puts more than 65 535 bind parameters in one statement', () => {
    const batches = batchRows(
      Array.from({ length: 50_000 }, () => row(3)),
      65_535,
    );
    expect(batches.map((b) => b.rows.length)).toEqual([21_845, 21_845, 6_310]);
    const mixed = batchRows([row(65_535), row(1), row(0), row(65_534), row(2)], 100);
    expect(mixed.map((b) => b.rows.length)).toEqual([1, 3, 1]);
    expect(batchRows([], 10)).toEqual([]);
  });
});

describe('input validation', () => {
  it('prepares a document, naming the place of any error', () => {
    expect(
      prepareRow(
        config,
        { content: 'a', metadata: { type: 'note' }, embedding: [1, 2, 3] },
        'docs[0]',
        'text',
        false,
      ),
    ).toMatchObject({
      content: 'a',
      metadataJson: '{"type":"note"}',
    });
    const cases: [unknown, RegExp, string][] = [
      [
        { content: 'a', embedding: [1, 2] },
        /^docs\[4\]\.embedding: expected 3 dimensions, got 2/,
        'DIMENSION_MISMATCH',
      ],
      [
        { content: 'a', embedding: [1, Number.NaN, 2] },
        /^docs\[4\]\.embedding: element 1 is NaN/,
        'INVALID_VECTOR',
      ],
      [
        { content: 'a', embedding: [0, 0, 0] },
        /^docs\[4\]\.embedding: a zero vector has no cosine distance/,
        'INVALID_VECTOR',
      ],
      [{ content: 5 }, /^docs\[4\]\.content must be a string, got a number/, 'INVALID_ARGUMENT'],
      [{ content: 'a\u0000b' }, /^docs\[4\]\.content has a NUL character/, 'INVALID_ARGUMENT'],
      [{ content: 'a', id: '' }, /^docs\[4\]\.id is empty/, 'INVALID_ARGUMENT'],
      [
        { content: 'a', createdAt: 'yesterday' },
        /^docs\[4\]\.createdAt must be a valid Date/,
        'INVALID_ARGUMENT',
      ],
      [{ content: 'a', vector: [1, 2, 3] }, /^docs\[4\] has an unknown key 'vector'/, 'INVALID_ARGUMENT'],
      [
        { content: 'a', metadata: ['x'] },
        /^docs\[4\]\.metadata must be a plain object or null, got an array/,
        'INVALID_ARGUMENT',
      ],
      ['text', /^docs\[4\] must be a document object, got a string/, 'INVALID_ARGUMENT'],
    ];
    for (const [doc, message, code] of cases) {
      const e = thrown(() => prepareRow(config, doc, 'docs[4]', 'text', false));
      expect(e.message).toMatch(message);
      expect(e.code).toBe(code);
    }
    expect(thrown(() => prepareRow(config, { content: 'a' }, 'doc', 'text', true)).message).toBe(
      'doc.id is required to upsert',
    );
    const e = thrown(() => prepareRow(config, { content: 'a', embedding: [1, 2] }, 'docs[4]', 'text', false));
    expect(e.fix).toMatch(/embed with a model/);
    expect(e.message.match(/Fix:/g)).toHaveLength(1);
  });

  it('metadata must be JSON that jsonb keeps as given', () => {
    expect(metadataJson({ a: 1, b: undefined, c: [true, null, 'x'], d: { e: 2 } }, 'm')).toBe(
      '{"a":1,"c":[true,null,"x"],"d":{"e":2}}',
    );
    expect(metadataJson(null, 'm')).toBeNull();
    expect(metadataJson(undefined, 'm')).toBeNull();
    expect(thrown(() => metadataJson({ at: new Date() }, 'm')).fix).toMatch(/toISOString/);
    expect(thrown(() => metadataJson({ n: { x: Number.POSITIVE_INFINITY } }, 'm')).message).toBe(
      'm.n.x is Infinity, which JSON cannot hold',
    );
    expect(thrown(() => metadataJson({ m: new Map() }, 'm')).message).toMatch(
      /m\.m is an object \(Map\), not a JSON value/,
    );
    expect(thrown(() => metadataJson({ s: 'a\u0000' }, 'm')).message).toMatch(/NUL/);
    expect(thrown(() => metadataJson({ big: 1n }, 'm')).message).toMatch(/a bigint, not a JSON value/);
  });

  it('vectors are validated for the store type; zero vectors are fine off cosine', () => {
    const bits = resolveStoreConfig({ vectorType: 'bit', dimensions: 4, metric: 'hamming' });
    expect(out(vectorSql(bits, '1010', 'query', 'text', false))).toEqual({
      text: '$1::bit(4)',
      values: ['1010'],
    });
    expect(thrown(() => vectorSql(bits, '10', 'query', 'text', false)).code).toBe('DIMENSION_MISMATCH');
    expect(out(vectorSql(config, [0, 0, 0], 'query', 'text', false))).toEqual({
      text: '$1::vector(3)',
      values: ['[0,0,0]'],
    });
    const half = resolveStoreConfig({ vectorType: 'halfvec', dimensions: 2 });
    expect(vectorSql(half, [1, 2], 'q', 'binary', true).text).toBe('$1::vector(2)::halfvec(2)');
  });
});

describe('translateDatabaseError', () => {
  const context = {
    operation: 'search',
    tableName: 'documents',
    vectorType: 'vector',
    dimensions: 1536,
    metric: 'cosine',
  } as const;
  /** The shape Prisma Client 7 throws for a failed raw query (measured with @prisma/adapter-pg 7.10). */
  function prismaError(cause: Record<string, unknown>) {
    return Object.assign(new Error('Invalid `prisma.$queryRaw()` invocation: …'), {
      code: 'P2010',
      meta: { driverAdapterError: { name: 'DriverAdapterError', cause } },
    });
  }
  const postgres = (code: string, message: string, extra: Record<string, unknown> = {}) =>
    prismaError({
      originalCode: code,
      originalMessage: message,
      kind: 'postgres',
      code,
      severity: 'ERROR',
      message,
      ...extra,
    });

  it('OPERATOR_MISMATCH names the operator and opclass', () => {
    const e = translateDatabaseError(
      postgres('42883', 'operator does not exist: vector <=> halfvec', {
        hint: 'No operator matches the given name and argument types.',
      }),
      context,
    ) as PgVectorError;
    expect(e).toBeInstanceOf(PgVectorError);
    expect(e.code).toBe('OPERATOR_MISMATCH');
    expect(e.message).toMatch(
      /^search failed \(SQLSTATE 42883\): operator does not exist: vector <=> halfvec\nFix: /,
    );
    expect(e.fix).toBe(
      "the column is vector but the store sends halfvec: configure vectorType: 'vector'; on vector, 'cosine' is <=> with index opclass vector_cosine_ops",
    );
    expect(e.server).toEqual({
      sqlState: '42883',
      serverMessage: 'operator does not exist: vector <=> halfvec',
      hint: 'No operator matches the given name and argument types.',
      detail: undefined,
      constraint: undefined,
      table: undefined,
      column: undefined,
    });
    const sameType = translateDatabaseError(
      postgres('42883', 'operator does not exist: bit <=> bit'),
      context,
    ) as PgVectorError;
    expect(sameType.fix).toMatch(
      /^metric 'cosine' \(<=>\) does not exist for bit; bit supports 'hamming' \(<~>, bit_hamming_ops\)/,
    );
  });

  it('maps the pgvector errors users meet to their codes', () => {
    const cases: [ReturnType<typeof postgres>, string, RegExp | undefined][] = [
      [
        postgres('54000', 'index row size 9000 exceeds maximum 8160 for index "x"'),
        'INDEX_ROW_TOO_LARGE',
        /halfvec/,
      ],
      [
        postgres('54000', 'index row requires 12016 bytes, maximum size is 8191'),
        'INDEX_ROW_TOO_LARGE',
        /binary quantization/,
      ],
      [
        postgres('22000', 'expected 768 dimensions, not 1536'),
        'DIMENSION_MISMATCH',
        /configure dimensions: 768/,
      ],
      [postgres('22000', 'different vector dimensions 3 and 4'), 'DIMENSION_MISMATCH', /1536 dimensions/],
      [postgres('42704', 'type "vector" does not exist'), 'EXTENSION_MISSING', /CREATE EXTENSION vector/],
      [postgres('42704', 'type "halfvec" does not exist'), 'EXTENSION_MISSING', /install pgvector/],
      [
        postgres('58P01', 'could not access file "$libdir/vector": No such file or directory'),
        'EXTENSION_MISSING',
        /apt install/,
      ],
      [
        postgres('25001', 'VACUUM cannot run inside a transaction block'),
        'IN_TRANSACTION',
        /outside \$transaction/,
      ],
      [
        prismaError({
          originalCode: '42P01',
          originalMessage: 'relation "documents" does not exist',
          kind: 'TableDoesNotExist',
        }),
        'DATABASE_ERROR',
        /migrate deploy/,
      ],
      [postgres('42703', 'column "embedding" does not exist'), 'DATABASE_ERROR', /configure columns/],
      [postgres('42704', 'unrecognized configuration parameter "hnsw.foo"'), 'DATABASE_ERROR', undefined],
      [postgres('22012', 'division by zero'), 'DATABASE_ERROR', undefined],
    ];
    for (const [error, code, fix] of cases) {
      const e = translateDatabaseError(error, context) as PgVectorError;
      expect(e.code).toBe(code);
      if (fix === undefined) expect(e.fix).toBeUndefined();
      else expect(e.fix).toMatch(fix);
      expect(e.cause).toBe(error);
    }
  });

  it('keeps the classified fields Prisma reports (a unique violation loses its detail)', () => {
    const e = translateDatabaseError(
      prismaError({
        originalCode: '23505',
        originalMessage: 'duplicate key value violates unique constraint "documents_pkey"',
        kind: 'UniqueConstraintViolation',
        constraint: { index: 'documents_pkey' },
      }),
      context,
    ) as PgVectorError;
    expect(e.code).toBe('DATABASE_ERROR');
    expect(e.server).toMatchObject({ sqlState: '23505', constraint: 'documents_pkey' });
  });

  it('reads a bare DriverAdapterError and a node-postgres DatabaseError too', () => {
    const adapterError = Object.assign(new Error('x'), {
      name: 'DriverAdapterError',
      cause: { originalCode: '22000', originalMessage: 'expected 3 dimensions, not 2', kind: 'postgres' },
    });
    expect(serverErrorFields(adapterError)).toMatchObject({ sqlState: '22000' });
    const pgError = Object.assign(new Error('type "vector" does not exist'), {
      code: '42704',
      severity: 'ERROR',
    });
    expect((translateDatabaseError(pgError, context) as PgVectorError).code).toBe('EXTENSION_MISSING');
  });

  it('wraps Prisma transaction errors, passes PgVectorErrors and programming errors through', () => {
    const timeout = Object.assign(new Error('Transaction API error: Transaction already closed: timeout'), {
      code: 'P2028',
    });
    const e = translateDatabaseError(timeout, context) as PgVectorError;
    expect(e.code).toBe('DATABASE_ERROR');
    expect(e.message).toBe(
      'search failed (Prisma P2028): Transaction API error: Transaction already closed: timeout\nFix: the transaction timed out or could not start: raise transactionOptions.timeout / maxWait',
    );
    const own = new PgVectorError('INVALID_FILTER', 'x');
    expect(translateDatabaseError(own, context)).toBe(own);
    const bug = new TypeError('x is undefined');
    expect(translateDatabaseError(bug, context)).toBe(bug);
  });

  it('never carries a whole vector in a message', () => {
    const vector = `[${Array.from({ length: 1536 }, (_, i) => (i / 1536).toFixed(6)).join(',')}]`;
    const e = translateDatabaseError(
      postgres('22P02', `invalid input syntax for type vector: "${vector}"`),
      context,
    ) as PgVectorError;
    expect(e.message.length).toBeLessThan(200);
    expect(e.message).toMatch(/"\[0\.000000,0\.000651,.*…\([\d,]+ more characters\)\]"$/);
    expect(e.server?.serverMessage).toBe(e.message.replace(/^search failed \(SQLSTATE 22P02\): /, ''));
    expect(shortenVectorsIn('{1:0.5,3:2}/5 [1,2,3]')).toBe('{1:0.5,3:2}/5 [1,2,3]');
    expect(shortenVectorsIn(`{${Array.from({ length: 40 }, (_, i) => `${i + 1}:1`).join(',')}}/100`)).toMatch(
      /^\{1:1,2:1,.*…\(\d+ more characters\)\}\/100$/,
    );
  });
});
