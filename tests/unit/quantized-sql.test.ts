// Expression-index searches (models above 2,000 dimensions): configuration checks and the exact SQL.
import { raw } from '@prisma/client/runtime/client';
import { describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/core/filter.js';
import { vectorParam } from '../../src/core/vector.js';
import { INDEX_DIMENSION_LIMITS, indexDdl, resolveIndexSpec } from '../../src/indexes/index-spec.js';
import { resolveStoreConfig, type VectorStoreConfig } from '../../src/store/config.js';
import {
  buildExpressionSearchSql,
  DEFAULT_RERANK,
  EXPRESSION_INDEX_LIMITS,
  planExpressionSearch,
  rerankForRecall,
} from '../../src/store/quantized-sql.js';
import type { SearchSpec } from '../../src/store/sql.js';
import { thrown } from '../support/pg-vector-error.js';

const D = 3072;
const big = (more: VectorStoreConfig = {}) =>
  resolveStoreConfig({ dimensions: D, partialIndexPredicates: [], ...more });
const q = vectorParam([1, 2, 3], 'vector', 3, 'text');

function spec(more: Partial<SearchSpec> = {}): SearchSpec {
  return {
    query: q,
    metric: 'cosine',
    k: 10,
    where: raw('TRUE'),
    fields: ['content'],
    includeEmbedding: false,
    relaxed: false,
    ...more,
  };
}

describe('indexExpression / rerank configuration', () => {
  it('accepts vector(3072) with and without an expression; defaults rerank per expression', () => {
    expect(big()).toMatchObject({ dimensions: D, indexExpression: 'none', rerank: 1 });
    expect(big({ indexExpression: 'halfvec' })).toMatchObject({ indexExpression: 'halfvec', rerank: 1 });
    expect(big({ indexExpression: 'binary_quantize' })).toMatchObject({
      indexExpression: 'binary_quantize',
      rerank: DEFAULT_RERANK.binary_quantize,
    });
    expect(big({ indexExpression: 'binary_quantize', rerank: 4 }).rerank).toBe(4);
    expect(big({ indexExpression: 'binary_quantize', metric: 'l2' }).metric).toBe('l2');
    expect(resolveStoreConfig({ dimensions: 16_000, indexExpression: 'binary_quantize' }).dimensions).toBe(
      16_000,
    );
  });

  it('refuses what no index could serve, typed INVALID_CONFIG with the fix', () => {
    const cases: [VectorStoreConfig, string][] = [
      [{ indexExpression: 'halfvec', dimensions: 4001 }, 'a halfvec index takes at most 4000'],
      [{ indexExpression: 'halfvec', vectorType: 'halfvec' }, "vectorType is 'halfvec'"],
      [{ indexExpression: 'halfvec', indexMethod: 'ivfflat', metric: 'l1' }, "'ivfflat'"],
      [
        { indexExpression: 'binary_quantize', vectorType: 'bit', metric: 'hamming' },
        'needs a vector or halfvec column',
      ],
      [{ indexExpression: 'binary_quantize', rerank: 0 }, 'rerank must be an integer from 1 to 100'],
      [{ indexExpression: 'binary_quantize', rerank: 2.5 }, 'rerank must be an integer'],
      [{ indexExpression: 'binary_quantize', rerank: 101 }, 'from 1 to 100'],
      [{ rerank: 4 }, 'indexExpression is none'],
      [{ indexExpression: 'binary' as never }, "indexExpression must be one of 'none', 'halfvec'"],
    ];
    for (const [config, message] of cases) {
      const error = thrown(() => big(config));
      expect(error.code, JSON.stringify(config)).toBe('INVALID_CONFIG');
      expect(error.message).toContain(message);
    }
    expect(thrown(() => big({ indexExpression: 'halfvec', dimensions: 5000 })).fix).toContain(
      'binary_quantize',
    );
  });

  it('keeps the index limits equal to the index specs’', () => {
    expect(EXPRESSION_INDEX_LIMITS).toEqual({
      vector: INDEX_DIMENSION_LIMITS.vector,
      halfvec: INDEX_DIMENSION_LIMITS.halfvec,
      bit: INDEX_DIMENSION_LIMITS.bit,
    });
  });
});

describe('planExpressionSearch', () => {
  it('k × rerank candidates, at least k, at most 1000; only for the store’s metric', () => {
    const bq = big({ indexExpression: 'binary_quantize' });
    expect(planExpressionSearch(bq, 'cosine', 10)).toEqual({
      plan: { expression: 'binary_quantize', candidates: 100 },
      warnings: [],
    });
    expect(planExpressionSearch(bq, 'cosine', 500).plan?.candidates).toBe(1000);
    expect(planExpressionSearch(bq, 'l2', 10).plan).toBeUndefined();
    expect(planExpressionSearch(big({ indexExpression: 'halfvec' }), 'cosine', 7).plan).toEqual({
      expression: 'halfvec',
      candidates: 7,
    });
  });

  it('a recall target widens the binary candidates unless rerank was given (halfvec unchanged)', () => {
    const bq = big({ indexExpression: 'binary_quantize' });
    expect(rerankForRecall(0.7)).toBe(10);
    expect(rerankForRecall(0.9)).toBe(40);
    expect(rerankForRecall(0.95)).toBe(40);
    expect(rerankForRecall(0.99)).toBe(80);
    const wide = planExpressionSearch(bq, 'cosine', 10, 0.95);
    expect(wide.plan).toEqual({ expression: 'binary_quantize', candidates: 400 });
    expect(wide.warnings[0]).toMatch(/candidates 40× k \(400\) instead of the default 10×/);
    expect(planExpressionSearch(bq, 'cosine', 10, 0.7)).toEqual({
      plan: { expression: 'binary_quantize', candidates: 100 },
      warnings: [],
    });
    expect(planExpressionSearch(bq, 'cosine', 50, 0.99).plan?.candidates).toBe(1000);
    const given = big({ indexExpression: 'binary_quantize', rerank: 12 });
    expect(planExpressionSearch(given, 'cosine', 10, 0.99)).toEqual({
      plan: { expression: 'binary_quantize', candidates: 120 },
      warnings: [],
    });
    expect(planExpressionSearch(big({ indexExpression: 'halfvec' }), 'cosine', 10, 0.99).plan).toEqual({
      expression: 'halfvec',
      candidates: 10,
    });
  });

  it('warns when no index can serve the column and no expression is configured', () => {
    expect(planExpressionSearch(big(), 'cosine', 10).warnings[0]).toContain(
      'vector(3072): no index can serve this column (pgvector indexes vector up to 2000 dimensions)',
    );
    expect(planExpressionSearch(big(), 'cosine', 10).warnings[0]).toContain('--expression halfvec');
    expect(planExpressionSearch(resolveStoreConfig({ dimensions: 1536 }), 'cosine', 10).warnings).toEqual([]);
  });
});

describe('buildExpressionSearchSql', () => {
  it('binary_quantize: Hamming candidates with the filter inside, exact re-rank outside', () => {
    const config = big({ indexExpression: 'binary_quantize' });
    const where = compileFilter(
      { lang: 'de' },
      { metadataColumn: config.columns.metadata, createdAtColumn: config.columns.createdAt },
    );
    const s = buildExpressionSearchSql(config, spec({ where }), {
      expression: 'binary_quantize',
      candidates: 100,
    });
    expect(s.text).toBe(
      `SELECT "id" AS "id", "content" AS "content", "embedding" <=> $1::vector(3) AS "distance" FROM (` +
        `SELECT "id", "content", "metadata", "created_at", "embedding" FROM "documents" WHERE "embedding" IS NOT NULL AND ${where.text.replace(/\$(\d+)/g, (_, n) => `$${Number(n) + 1}`)} ` +
        `ORDER BY binary_quantize("embedding")::bit(3072) <~> binary_quantize($${where.values.length + 2}::vector(3)) LIMIT 100` +
        `) AS "candidates" WHERE "embedding" IS NOT NULL ORDER BY "distance" LIMIT 10`,
    );
    expect(s.values).toEqual(['[1,2,3]', ...where.values, '[1,2,3]']);
  });

  it('halfvec: orders by the cast the index holds; maxDistance on the exact distance', () => {
    const config = big({ indexExpression: 'halfvec', metric: 'l2' });
    const s = buildExpressionSearchSql(config, spec({ metric: 'l2', maxDistance: 0.5, relaxed: true }), {
      expression: 'halfvec',
      candidates: 10,
    });
    expect(s.text).toBe(
      `SELECT * FROM (SELECT "id" AS "id", "content" AS "content", "embedding" <-> $1::vector(3) AS "distance" FROM (` +
        `SELECT "id", "content", "metadata", "created_at", "embedding" FROM "documents" WHERE "embedding" IS NOT NULL ` +
        `ORDER BY "embedding"::halfvec(3072) <-> $2::vector(3)::halfvec(3072) LIMIT 10` +
        `) AS "candidates" WHERE "embedding" IS NOT NULL ORDER BY "distance" LIMIT 10) AS s WHERE s."distance" <= $3 ORDER BY s."distance"`,
    );
    expect(s.values).toEqual(['[1,2,3]', '[1,2,3]', 0.5]);
  });
});

describe('the expression indexes the searches need (index specs)', () => {
  const spec = {
    table: 'documents',
    column: 'embedding',
    method: 'hnsw',
    type: 'vector',
    dimensions: D,
  } as const;

  it('renders both expression indexes for vector(3072)', () => {
    expect(indexDdl({ ...spec, metric: 'cosine', expression: 'halfvec' })).toBe(
      'CREATE INDEX "documents_embedding_halfvec_hnsw_idx" ON "documents" USING hnsw (("embedding"::halfvec(3072)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64)',
    );
    expect(indexDdl({ ...spec, metric: 'hamming', expression: 'binary_quantize' })).toBe(
      'CREATE INDEX "documents_embedding_bq_hnsw_idx" ON "documents" USING hnsw ((binary_quantize("embedding")::bit(3072)) bit_hamming_ops) WITH (m = 16, ef_construction = 64)',
    );
  });

  it('binary_quantize with a dense metric: refused, naming the index metric and the store’s re-rank', () => {
    const error = thrown(() =>
      resolveIndexSpec({ ...spec, metric: 'cosine', expression: 'binary_quantize' }),
    );
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toContain(
      "'bit' supports: 'hamming', 'jaccard' (the index's metric); got 'cosine'",
    );
    expect(error.fix).toContain('--metric hamming');
  });
});
