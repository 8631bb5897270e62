import { describe, expect, it } from 'vitest';
import { isPgVectorError, type PgVectorError } from '../../src/core/errors.js';
import { metadataStringExpression, metadataTextExpression } from '../../src/core/filter-expressions.js';
import {
  adviseIndex,
  checkIvfflatTraining,
  estimateHnswBuildBytes,
  estimateIvfflatBuildBytes,
  suggestLists,
  suggestProbes,
} from '../../src/indexes/advisor.js';
import {
  defaultFilterIndexName,
  filterIndexDdl,
  filterIndexNeeds,
  filterIndexPrismaLine,
  resolveFilterIndexSpec,
} from '../../src/indexes/filter-index.js';
import {
  defaultIndexName,
  dropIndexDdl,
  type IndexSpec,
  indexDdl,
  prismaIndexLine,
  quoteIdentifier,
  resolveIndexSpec,
} from '../../src/indexes/index-spec.js';
import { parsePrismaModels } from '../../src/indexes/migration.js';
import { recommendMaintenance, type TableStats } from '../../src/ops/maintenance.js';
import { thrown } from '../support/pg-vector-error.js';

const base: IndexSpec = {
  table: 'documents',
  column: 'embedding',
  method: 'hnsw',
  type: 'vector',
  dimensions: 1536,
  metric: 'cosine',
};

function refusal(spec: Partial<IndexSpec>): PgVectorError {
  try {
    indexDdl({ ...base, ...spec });
  } catch (e) {
    if (isPgVectorError(e)) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('indexDdl: exact DDL', () => {
  it.each<[string, Partial<IndexSpec>, string]>([
    [
      'HNSW cosine with defaults spelled out',
      {},
      'CREATE INDEX "documents_embedding_hnsw_idx" ON "documents" USING hnsw ("embedding" vector_cosine_ops) WITH (m = 16, ef_construction = 64)',
    ],
    [
      'HNSW l2 with parameters, concurrently, if not exists, schema',
      { metric: 'l2', m: 24, efConstruction: 128, concurrently: true, ifNotExists: true, schema: 'app' },
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS "documents_embedding_hnsw_l2_idx" ON "app"."documents" USING hnsw ("embedding" vector_l2_ops) WITH (m = 24, ef_construction = 128)',
    ],
    [
      'HNSW inner product, explicit name',
      { metric: 'innerProduct', name: 'ip_idx' },
      'CREATE INDEX "ip_idx" ON "documents" USING hnsw ("embedding" vector_ip_ops) WITH (m = 16, ef_construction = 64)',
    ],
    [
      'HNSW l1',
      { metric: 'l1', name: 'l1_idx' },
      'CREATE INDEX "l1_idx" ON "documents" USING hnsw ("embedding" vector_l1_ops) WITH (m = 16, ef_construction = 64)',
    ],
    [
      'ef_construction defaults to 2·m when m is large',
      { m: 48, name: 'x' },
      'CREATE INDEX "x" ON "documents" USING hnsw ("embedding" vector_cosine_ops) WITH (m = 48, ef_construction = 96)',
    ],
    [
      'IVFFlat with lists',
      { method: 'ivfflat', lists: 1000 },
      'CREATE INDEX "documents_embedding_ivfflat_idx" ON "documents" USING ivfflat ("embedding" vector_cosine_ops) WITH (lists = 1000)',
    ],
    [
      'IVFFlat default lists',
      { method: 'ivfflat', metric: 'innerProduct', name: 'i' },
      'CREATE INDEX "i" ON "documents" USING ivfflat ("embedding" vector_ip_ops) WITH (lists = 100)',
    ],
    [
      'halfvec column',
      { type: 'halfvec', dimensions: 3072, name: 'h' },
      'CREATE INDEX "h" ON "documents" USING hnsw ("embedding" halfvec_cosine_ops) WITH (m = 16, ef_construction = 64)',
    ],
    ['halfvec expression above 2000 dims', { dimensions: 3072 }, ''],
    [
      'sparsevec',
      { type: 'sparsevec', dimensions: 30000, metric: 'innerProduct', name: 's' },
      'CREATE INDEX "s" ON "documents" USING hnsw ("embedding" sparsevec_ip_ops) WITH (m = 16, ef_construction = 64)',
    ],
    [
      'bit hamming, IVFFlat',
      { type: 'bit', dimensions: 1024, metric: 'hamming', method: 'ivfflat', lists: 10, name: 'b' },
      'CREATE INDEX "b" ON "documents" USING ivfflat ("embedding" bit_hamming_ops) WITH (lists = 10)',
    ],
    [
      'bit jaccard, HNSW',
      { type: 'bit', dimensions: 1024, metric: 'jaccard', name: 'j' },
      'CREATE INDEX "j" ON "documents" USING hnsw ("embedding" bit_jaccard_ops) WITH (m = 16, ef_construction = 64)',
    ],
    [
      'partial index',
      { name: 'notes_idx', where: "(metadata ->> 'type') = 'note'" },
      `CREATE INDEX "notes_idx" ON "documents" USING hnsw ("embedding" vector_cosine_ops) WITH (m = 16, ef_construction = 64) WHERE (metadata ->> 'type') = 'note'`,
    ],
    [
      'quoted identifiers',
      { table: 'My "Docs"', column: 'Emb', name: 'a"b' },
      'CREATE INDEX "a""b" ON "My ""Docs""" USING hnsw ("Emb" vector_cosine_ops) WITH (m = 16, ef_construction = 64)',
    ],
  ])('%s', (_label, spec, expected) => {
    if (expected === '') {
      expect(() => indexDdl({ ...base, ...spec })).toThrow(/halfvec/);
      return;
    }
    expect(indexDdl({ ...base, ...spec })).toBe(expected);
  });

  it('expression indexes for models above 2000 dimensions', () => {
    expect(indexDdl({ ...base, dimensions: 3072, expression: 'halfvec' })).toBe(
      'CREATE INDEX "documents_embedding_halfvec_hnsw_idx" ON "documents" USING hnsw (("embedding"::halfvec(3072)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64)',
    );
    expect(indexDdl({ ...base, dimensions: 3072, expression: 'binary_quantize', metric: 'hamming' })).toBe(
      'CREATE INDEX "documents_embedding_bq_hnsw_idx" ON "documents" USING hnsw ((binary_quantize("embedding")::bit(3072)) bit_hamming_ops) WITH (m = 16, ef_construction = 64)',
    );
    expect(
      indexDdl({
        ...base,
        type: 'halfvec',
        dimensions: 8000,
        expression: 'binary_quantize',
        metric: 'jaccard',
        name: 'q',
      }),
    ).toBe(
      'CREATE INDEX "q" ON "documents" USING hnsw ((binary_quantize("embedding")::bit(8000)) bit_jaccard_ops) WITH (m = 16, ef_construction = 64)',
    );
  });

  it('default names', () => {
    expect(defaultIndexName({ ...base })).toBe('documents_embedding_hnsw_idx');
    expect(defaultIndexName({ ...base, method: 'ivfflat', metric: 'innerProduct' })).toBe(
      'documents_embedding_ivfflat_innerproduct_idx',
    );
    expect(defaultIndexName({ ...base, where: "(metadata ->> 'type') = 'note'" })).toMatch(
      /^documents_embedding_hnsw_p[0-9a-f]{8}_idx$/,
    );
    expect(defaultIndexName({ ...base, where: 'a = 1' })).not.toBe(
      defaultIndexName({ ...base, where: 'a = 2' }),
    );
  });

  it('drop and Prisma lines', () => {
    expect(dropIndexDdl('x', { concurrently: true, ifExists: true, schema: 'public' })).toBe(
      'DROP INDEX CONCURRENTLY IF EXISTS "public"."x"',
    );
    expect(dropIndexDdl('x')).toBe('DROP INDEX "x"');
    expect(prismaIndexLine('embedding', 'documents_embedding_hnsw_idx')).toBe(
      '@@index([embedding], map: "documents_embedding_hnsw_idx")',
    );
    expect(prismaIndexLine('embedding', 'n', "((metadata ->> 'type'::text) = 'note'::text)")).toBe(
      `@@index([embedding], map: "n", where: raw("((metadata ->> 'type'::text) = 'note'::text)"))`,
    );
    expect(quoteIdentifier('a"b')).toBe('"a""b"');
  });
});

describe('indexDdl: refusals name the fix', () => {
  it('dimension limits per type', () => {
    const v = refusal({ dimensions: 3072 });
    expect(v.code).toBe('INDEX_DIMENSION_LIMIT');
    expect(v.message).toContain('3072 dims');
    expect(v.fix).toContain('index `embedding::halfvec(3072)`');
    expect(v.fix).toContain('quantise');
    expect(refusal({ dimensions: 4001 }).fix).toMatch(
      /^quantise: index `binary_quantize\(embedding\)::bit\(4001\)`/,
    );
    expect(refusal({ type: 'halfvec', dimensions: 4001 }).code).toBe('INDEX_DIMENSION_LIMIT');
    expect(refusal({ type: 'halfvec', dimensions: 4001 }).fix).toContain('binary_quantize');
    expect(refusal({ dimensions: 4001, expression: 'halfvec' }).code).toBe('INDEX_DIMENSION_LIMIT');
    expect(refusal({ type: 'bit', dimensions: 64_001, metric: 'hamming' }).code).toBe(
      'INDEX_DIMENSION_LIMIT',
    );
    expect(refusal({ dimensions: 64_001, expression: 'binary_quantize', metric: 'hamming' }).code).toBe(
      'INDEX_DIMENSION_LIMIT',
    );
    // the limits themselves are accepted
    expect(() => indexDdl({ ...base, dimensions: 2000 })).not.toThrow();
    expect(() => indexDdl({ ...base, type: 'halfvec', dimensions: 4000 })).not.toThrow();
    expect(() => indexDdl({ ...base, type: 'bit', dimensions: 64_000, metric: 'hamming' })).not.toThrow();
    expect(() => indexDdl({ ...base, type: 'sparsevec', dimensions: 1_000_000 })).not.toThrow();
  });

  it('operator class for type and method', () => {
    expect(refusal({ method: 'ivfflat', metric: 'l1' }).message).toMatch(
      /ivfflat.*does not support metric 'l1'/,
    );
    expect(refusal({ method: 'ivfflat', type: 'sparsevec' }).fix).toContain("'hnsw'");
    expect(refusal({ type: 'bit', metric: 'cosine' }).message).toContain(
      "'bit' supports: 'hamming', 'jaccard'",
    );
    expect(refusal({ method: 'ivfflat', type: 'bit', metric: 'jaccard' }).code).toBe('INVALID_CONFIG');
    expect(refusal({ dimensions: 3072, expression: 'binary_quantize' }).message).toContain("'bit' supports");
    expect(refusal({ type: 'halfvec', expression: 'halfvec' }).fix).toContain('directly');
    expect(refusal({ type: 'bit', metric: 'hamming', expression: 'binary_quantize' }).code).toBe(
      'INVALID_CONFIG',
    );
    expect(refusal({ metric: 'dot' as never }).message).toContain("unknown metric 'dot'");
    expect(refusal({ method: 'flat' as never }).message).toContain('unknown index method');
  });

  it('parameter ranges', () => {
    expect(refusal({ m: 1 }).message).toContain('m must be an integer from 2 to 100, got 1');
    expect(refusal({ m: 101 }).message).toContain('got 101');
    expect(refusal({ m: 16.5 }).code).toBe('INVALID_CONFIG');
    expect(refusal({ efConstruction: 3 }).message).toContain('from 4 to 1000');
    expect(refusal({ efConstruction: 1001 }).message).toContain('got 1001');
    const ef = refusal({ m: 16, efConstruction: 31 });
    expect(ef.message).toContain('at least 2 × m (32)');
    expect(ef.fix).toContain('efConstruction ≥ 32');
    expect(() => indexDdl({ ...base, m: 16, efConstruction: 32 })).not.toThrow();
    expect(refusal({ method: 'ivfflat', lists: 0 }).message).toContain('from 1 to 32768');
    expect(refusal({ method: 'ivfflat', lists: 32_769 }).code).toBe('INVALID_CONFIG');
    expect(refusal({ method: 'ivfflat', m: 16 }).message).toContain('HNSW parameters');
    expect(refusal({ lists: 10 }).message).toContain('IVFFlat parameter');
    expect(refusal({ dimensions: 0 }).message).toContain('dimensions must be a positive integer');
  });

  it('names and the raw predicate', () => {
    expect(refusal({ name: 'x'.repeat(64) }).message).toContain('64 bytes long');
    expect(() => indexDdl({ ...base, name: 'x'.repeat(63) })).not.toThrow();
    expect(refusal({ table: 't'.repeat(60) }).message).toContain('would truncate');
    expect(refusal({ name: '' }).message).toContain('non-empty');
    expect(refusal({ where: "type = 'a'; DROP TABLE documents" }).message).toContain('ONE predicate');
    expect(refusal({ where: 'a = 1 -- x' }).code).toBe('INVALID_CONFIG');
    expect(refusal({ where: '   ' }).message).toContain('empty');
    expect(() => indexDdl({ ...base, where: "note = 'a;b'" })).not.toThrow();
    expect(() => indexDdl({ ...base, where: 'x = $$a;b$$' })).not.toThrow();
  });

  it('resolveIndexSpec reports the indexed type and the opclass', () => {
    const r = resolveIndexSpec({ ...base, dimensions: 3072, expression: 'halfvec' });
    expect(r.indexedType).toBe('halfvec');
    expect(r.opclass).toBe('halfvec_cosine_ops');
    expect(r.params).toEqual({ m: 16, ef_construction: 64 });
  });
});

describe('adviseIndex', () => {
  it('HNSW by default, with reasons', () => {
    const a = adviseIndex({ rows: 50_000, dimensions: 1536 });
    expect(a.method).toBe('hnsw');
    expect(a.params).toEqual({ m: 16, efConstruction: 64 });
    expect(a.reasons[0]).toContain('no training step');
  });

  it('HNSW for an empty table, IVFFlat ruled out for lack of training data', () => {
    const a = adviseIndex({ rows: 0, dimensions: 1536, expectedRows: 1_000_000, memoryBytes: 1e6 });
    expect(a.method).toBe('hnsw');
    expect(a.reasons.join(' ')).toContain('IVFFlat is ruled out');
    expect(a.warnings.join(' ')).toContain('will not fit');
  });

  it('IVFFlat when HNSW does not fit the memory and the data is static', () => {
    const a = adviseIndex({ rows: 2_000_000, dimensions: 1536, memoryBytes: 4e9 });
    expect(a.method).toBe('ivfflat');
    expect(a.params).toEqual({ lists: 1414, probes: 38 });
    expect(a.reasons.join(' ')).toContain('√rows');
    expect(a.estimates.hnswBuildBytes).toBeGreaterThan(4e9);
  });

  it('IVFFlat when the HNSW build is over the time budget', () => {
    const a = adviseIndex({ rows: 500_000, dimensions: 768, buildTimeBudget: 600 });
    expect(a.method).toBe('ivfflat');
    expect(a.params).toEqual({ lists: 500, probes: 22 });
    expect(a.reasons.join(' ')).toContain('rows / 1000');
  });

  it('write-heavy or growing data keeps HNSW even under pressure', () => {
    expect(
      adviseIndex({ rows: 2_000_000, dimensions: 1536, memoryBytes: 4e9, writeHeavy: true }).method,
    ).toBe('hnsw');
    const g = adviseIndex({ rows: 2_000_000, dimensions: 1536, memoryBytes: 4e9, expectedRows: 10_000_000 });
    expect(g.method).toBe('hnsw');
    expect(g.reasons.join(' ')).toContain('grow 5.0×');
  });

  it('recall target raises HNSW parameters and IVFFlat probes', () => {
    expect(adviseIndex({ rows: 10, dimensions: 8, recallTarget: 0.97 }).params).toEqual({
      m: 24,
      efConstruction: 128,
    });
    expect(adviseIndex({ rows: 10, dimensions: 8, recallTarget: 0.99 }).params).toEqual({
      m: 32,
      efConstruction: 256,
    });
    const i = adviseIndex({ rows: 2_000_000, dimensions: 1536, memoryBytes: 4e9, recallTarget: 0.97 });
    expect(i.params).toEqual({ lists: 1414, probes: 76 });
  });

  it('warns about dimensions over the vector index limit and small tables', () => {
    const a = adviseIndex({ rows: 100, dimensions: 3072 });
    expect(a.warnings.join(' ')).toContain('embedding::halfvec(3072)');
    expect(a.warnings.join(' ')).toContain('exact scan');
  });

  it('refuses nonsense input', () => {
    expect(() => adviseIndex({ rows: -1, dimensions: 8 })).toThrow(/rows/);
    expect(() => adviseIndex({ rows: 1, dimensions: 0 })).toThrow(/dimensions/);
    expect(() => adviseIndex({ rows: 1, dimensions: 8, recallTarget: 1.5 })).toThrow(/recallTarget/);
  });

  it('lists, probes and memory estimates', () => {
    expect(suggestLists(0)).toBe(1);
    expect(suggestLists(50_000)).toBe(50);
    expect(suggestLists(1_000_000)).toBe(1000);
    expect(suggestLists(4_000_000)).toBe(2000);
    expect(suggestLists(1e10)).toBe(32_768);
    expect(suggestProbes(100)).toBe(10);
    expect(suggestProbes(1)).toBe(1);
    // value (8 + 4·1536) + 16·2·16 + 256 per row
    expect(estimateHnswBuildBytes({ rows: 1_000_000, dimensions: 1536, m: 16 })).toBe(
      1_000_000 * (6152 + 512 + 256),
    );
    expect(estimateHnswBuildBytes({ rows: 10, dimensions: 8, type: 'halfvec' })).toBe(10 * (24 + 512 + 256));
    expect(estimateIvfflatBuildBytes({ rows: 1_000_000, dimensions: 1536, lists: 1000 })).toBe(
      (50_000 + 2000) * 6152,
    );
  });
});

describe('checkIvfflatTraining', () => {
  it('requires 50 rows per list', () => {
    expect(checkIvfflatTraining({ rows: 5000, lists: 100 }).ok).toBe(true);
    try {
      checkIvfflatTraining({ rows: 4999, lists: 100 });
      expect.unreachable();
    } catch (e) {
      expect(isPgVectorError(e, 'INSUFFICIENT_TRAINING_DATA')).toBe(true);
      expect((e as PgVectorError).message).toContain('at least 5000 non-NULL rows');
      expect((e as PgVectorError).fix).toContain('lists ≤ 99');
    }
  });

  it('force returns the failed check instead', () => {
    const c = checkIvfflatTraining({ rows: 10, lists: 100, force: true });
    expect(c).toMatchObject({ ok: false, minRows: 5000, rows: 10 });
  });
});

describe('recommendMaintenance', () => {
  const stats: TableStats = {
    schema: 'public',
    table: 'documents',
    liveTuples: 10_000,
    deadTuples: 0,
    modsSinceAnalyze: 0,
    lastVacuum: new Date(),
    lastAnalyze: new Date(),
    vectorIndexes: [
      { name: 'documents_embedding_hnsw_idx', method: 'hnsw', sizeBytes: 1, valid: true },
      { name: 'broken_idx', method: 'hnsw', sizeBytes: 1, valid: false },
    ],
  };

  it('reindexes the valid vector indexes above 20% dead tuples', () => {
    const r = recommendMaintenance({ ...stats, deadTuples: 3000 });
    expect(r.step).toBe('reindex-vacuum-analyze');
    expect(r.reindex).toEqual(['documents_embedding_hnsw_idx']);
    expect(r.reasons[0]).toContain('3000 dead tuples = 30% of live rows > 20%');
  });

  it('vacuums without a rebuild below 20%, or without vector indexes', () => {
    expect(recommendMaintenance({ ...stats, deadTuples: 1000 }).step).toBe('vacuum-analyze');
    expect(recommendMaintenance({ ...stats, deadTuples: 3000, vectorIndexes: [] }).step).toBe(
      'vacuum-analyze',
    );
    expect(recommendMaintenance({ ...stats, deadTuples: 40, liveTuples: 10 }).step).toBe('none');
  });

  it('analyzes after a bulk load, or when never analysed', () => {
    const r = recommendMaintenance({ ...stats, modsSinceAnalyze: 5000 });
    expect(r.step).toBe('analyze');
    expect(r.reasons[0]).toContain('50% of live rows > 10%');
    expect(recommendMaintenance({ ...stats, lastAnalyze: null }).step).toBe('analyze');
    expect(recommendMaintenance(stats).step).toBe('none');
  });

  it('thresholds are configurable', () => {
    expect(recommendMaintenance({ ...stats, deadTuples: 1000 }, { deadRatio: 0.05 }).step).toBe(
      'reindex-vacuum-analyze',
    );
  });
});

describe('parsePrismaModels', () => {
  it('finds fields, @map columns and @@map tables', () => {
    const models = parsePrismaModels(`model Document {
  id        String @id
  embedding Unsupported("vector(1536)")? // the vector
  createdAt DateTime @map("created_at")
  @@index([embedding], map: "x")
  @@map("documents")
}
model Other {
  id Int @id
}
`);
    expect(models.map((m) => [m.name, m.table])).toEqual([
      ['Document', 'documents'],
      ['Other', 'Other'],
    ]);
    expect(models[0]?.fields).toEqual([
      { name: 'id', column: 'id', type: 'String' },
      { name: 'embedding', column: 'embedding', type: 'Unsupported("vector(1536)")?' },
      { name: 'createdAt', column: 'created_at', type: 'DateTime' },
    ]);
  });
});

describe('filter index specs', () => {
  it('writes the DDL of each kind with the contract expressions, CONCURRENTLY and IF NOT EXISTS', () => {
    expect(filterIndexDdl({ table: 'documents', kind: 'gin' })).toBe(
      'CREATE INDEX "documents_metadata_gin_idx" ON "documents" USING gin ("metadata" jsonb_path_ops)',
    );
    expect(
      filterIndexDdl({
        table: 'documents',
        kind: 'text',
        key: 'tenant',
        concurrently: true,
        ifNotExists: true,
      }),
    ).toBe(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS "documents_metadata_tenant_idx" ON "documents" USING btree ((${metadataTextExpression('"metadata"', ['tenant'])}))`,
    );
    expect(filterIndexDdl({ table: 'documents', schema: 'app', kind: 'number', key: 'price' })).toBe(
      `CREATE INDEX "documents_metadata_price_num_idx" ON "app"."documents" USING btree (((CASE WHEN jsonb_typeof(("metadata" -> 'price')) = 'number' THEN ("metadata" -> 'price')::numeric END)))`,
    );
    expect(filterIndexDdl({ table: 'documents', kind: 'text', key: 'author.name', name: 'by_author' })).toBe(
      `CREATE INDEX "by_author" ON "documents" USING btree ((("metadata" #>> '{author,name}')))`,
    );
    expect(filterIndexDdl({ table: 'documents', kind: 'string', key: 'day' })).toBe(
      `CREATE INDEX "documents_metadata_day_str_idx" ON "documents" USING btree ((${metadataStringExpression('"metadata"', ['day'])}))`,
    );
    expect(filterIndexDdl({ table: 'documents', kind: 'createdAt' })).toBe(
      'CREATE INDEX "documents_created_at_idx" ON "documents" USING btree ("created_at")',
    );
  });

  it('derives names that stay apart and within 63 bytes', () => {
    const dotted = defaultFilterIndexName({ table: 'documents', kind: 'text', key: 'author.name' });
    expect(dotted).toMatch(/^documents_metadata_author_name_h[0-9a-f]{8}_idx$/);
    expect(defaultFilterIndexName({ table: 'documents', kind: 'text', key: 'author_name' })).toBe(
      'documents_metadata_author_name_idx',
    );
    const long = defaultFilterIndexName({ table: 't'.repeat(40), kind: 'number', key: 'k'.repeat(60) });
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(63);
    expect(long).toMatch(/_h[0-9a-f]{8}_num_idx$/);
    expect(long).not.toBe(
      defaultFilterIndexName({ table: 't'.repeat(40), kind: 'number', key: `${'k'.repeat(59)}j` }),
    );
    expect(thrown(() => filterIndexDdl({ table: 'documents', kind: 'gin', name: 'x'.repeat(64) })).code).toBe(
      'INVALID_CONFIG',
    );
  });

  it('refuses keys that cannot be literals, missing keys and keys on kinds without one (INVALID_ARGUMENT)', () => {
    for (const key of ["a'b", 'a b', 'a,b', 'a}', '', 'a..b']) {
      expect(thrown(() => resolveFilterIndexSpec({ table: 'documents', kind: 'text', key })).code).toBe(
        'INVALID_ARGUMENT',
      );
    }
    expect(thrown(() => resolveFilterIndexSpec({ table: 'documents', kind: 'number' })).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect(thrown(() => resolveFilterIndexSpec({ table: 'documents', kind: 'gin', key: 'a' })).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect(
      thrown(() => resolveFilterIndexSpec({ table: 'documents', kind: 'hash' as 'gin' })).message,
    ).toContain('valid: gin, string, text, number, createdAt');
  });

  it('writes the @@index line Prisma needs: GIN and created_at natively, none for expressions', () => {
    expect(filterIndexPrismaLine('gin', 'metadata', 'documents_metadata_gin_idx')).toBe(
      '@@index([metadata(ops: JsonbPathOps)], map: "documents_metadata_gin_idx", type: Gin)',
    );
    expect(filterIndexPrismaLine('createdAt', 'createdAt', 'documents_created_at_idx')).toBe(
      '@@index([createdAt], map: "documents_created_at_idx")',
    );
    expect(filterIndexPrismaLine('text', 'metadata', 'x')).toBeUndefined();
    expect(filterIndexPrismaLine('number', 'metadata', 'x')).toBeUndefined();
  });

  it('finds the index each part of a filter needs', () => {
    const a = filterIndexNeeds({
      tenant: 't7',
      tags: { contains: ['x'] },
      lang: { in: ['en', 'de'] },
      price: { gte: 10, lt: 20 },
      day: { gte: '2026-01-01' },
      createdAt: { gte: new Date('2026-01-01') },
      draft: { ne: true },
      not: { type: 'note' },
      "o'k": { gt: 1 },
    });
    expect(a.needs).toEqual([
      { kind: 'gin', operators: ['eq', 'contains', 'in'], inOr: false },
      { kind: 'number', key: 'price', operators: ['gte', 'lt'], inOr: false },
      { kind: 'string', key: 'day', operators: ['gte'], inOr: false },
      { kind: 'createdAt', operators: ['gte'], inOr: false },
    ]);
    expect(a.partialCandidates).toEqual([{ key: 'tenant', value: 't7' }]);
    expect(a.unserved).toEqual(['draft.ne', 'not', "o'k.gt (the key cannot be indexed as an expression)"]);
    const or = filterIndexNeeds({ or: [{ type: 'a' }, { price: { lt: 3 } }], and: [{ type: 'b' }] });
    expect(or.needs).toEqual([
      { kind: 'gin', operators: ['eq'], inOr: true },
      { kind: 'number', key: 'price', operators: ['lt'], inOr: true },
      { kind: 'gin', operators: ['eq'], inOr: false },
    ]);
    expect(or.partialCandidates).toEqual([{ key: 'type', value: 'b' }]);
  });
});
