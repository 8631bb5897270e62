import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { repoRoot } from '../support/prisma-cli.js';

/** Applies prisma/migrations/*\/migration.sql in order to an in-process PGlite (what `migrate deploy` runs). */
export async function applyMigrations(pglite: PGlite): Promise<void> {
  const dir = join(repoRoot, 'prisma', 'migrations');
  for (const name of readdirSync(dir)
    .filter((d) => /^\d/.test(d))
    .sort()) {
    await pglite.exec(readFileSync(join(dir, name, 'migration.sql'), 'utf8'));
  }
}

/** The CREATE INDEX statements of the vector index migration, to rebuild the HNSW indexes after a bulk seed. */
export function vectorIndexStatements(): string[] {
  const dir = join(repoRoot, 'prisma', 'migrations');
  const name = readdirSync(dir).find((d) => d.endsWith('_vector_indexes'));
  if (name === undefined) throw new Error('no *_vector_indexes migration');
  const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
  return sql.match(/CREATE INDEX "documents_embedding[^;]*;/g) ?? [];
}

/** A Prisma Client over @prisma/adapter-pg on a test database URL, with a pool of `max` connections. */
export function prismaOn(url: string, schema: string, max: number): PrismaClient {
  const u = new URL(url);
  u.searchParams.delete('schema');
  const searchPath = schema === 'public' ? 'public' : `"${schema}", public`;
  return new PrismaClient({
    adapter: new PrismaPg(
      { connectionString: u.toString(), options: `-c search_path=${searchPath}`, max },
      { schema },
    ),
  });
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random vector with float4-exact elements in [-1, 1). */
export function randomVector(next: () => number, dims: number): number[] {
  return Array.from({ length: dims }, () => Math.fround(next() * 2 - 1));
}

/** A random bit string. */
export function randomBits(next: () => number, dims: number): string {
  return Array.from({ length: dims }, () => (next() < 0.5 ? '0' : '1')).join('');
}

const dot = (a: readonly number[], b: readonly number[]) =>
  a.reduce((s, x, i) => s + x * (b[i] as number), 0);

/** Exact distances, as pgvector's operators define them. */
export const exactDistance = {
  cosine: (a: readonly number[], b: readonly number[]) => 1 - dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b)),
  l2: (a: readonly number[], b: readonly number[]) =>
    Math.sqrt(a.reduce((s, x, i) => s + (x - (b[i] as number)) ** 2, 0)),
  innerProduct: (a: readonly number[], b: readonly number[]) => -dot(a, b),
  l1: (a: readonly number[], b: readonly number[]) =>
    a.reduce((s, x, i) => s + Math.abs(x - (b[i] as number)), 0),
  hamming: (a: string, b: string) => [...a].filter((c, i) => c !== b[i]).length,
  jaccard: (a: string, b: string) => {
    let both = 0;
    let either = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] === '1' && b[i] === '1') both++;
      if (a[i] === '1' || b[i] === '1') either++;
    }
    return 1 - both / either;
  },
} as const;

/** SQL of a small test table shaped like `documents`, with an embedding column of the given type. */
export function itemsTableSql(table: string, embeddingType: string): string {
  return `CREATE TABLE "${table}" (
    "id" TEXT PRIMARY KEY DEFAULT (gen_random_uuid())::text,
    "content" TEXT NOT NULL,
    "metadata" JSONB,
    "embedding" ${embeddingType},
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
  )`;
}

export { rejection } from '../support/pg-vector-error.js';

/**
 * A store `pool` over `poolOf()` that records the text of every statement sent through it (on its own
 * `query`, and on the clients it hands out), into `sent`.
 */
export function recordingPool(poolOf: () => pg.Pool, sent: string[]) {
  return {
    query: (query: pg.QueryConfig) => {
      sent.push(query.text);
      return poolOf().query(query);
    },
    connect: async () => {
      const client = await poolOf().connect();
      return new Proxy(client, {
        get(target, key, receiver) {
          if (key !== 'query') return Reflect.get(target, key, receiver);
          return (query: string | pg.QueryConfig, ...rest: unknown[]) => {
            sent.push(typeof query === 'string' ? query : query.text);
            return (target.query as (...a: unknown[]) => unknown)(query, ...rest);
          };
        },
      });
    },
  };
}
