// The store with an OpenAIEmbedder, as an app wires it: texts go to a local server that speaks the OpenAI
// embeddings API (node:http on loopback, vectors from the hashing embedder), the vectors to PostgreSQL +
// pgvector (embedded, or TEST_DATABASE_URL) through Prisma Client.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVectorStore, HashingEmbedder, OpenAIEmbedder } from '../../src/index.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';

const reference = new HashingEmbedder({ dimensions: 1536 });
let db: TestDatabase;
let pool: pg.Pool;
let server: Server;
let baseUrl: string;
const batches: number[] = [];
let failNext = 0;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const { input } = JSON.parse(raw) as { input: string[] };
    if (failNext > 0) {
      failNext--;
      res.writeHead(429, { 'retry-after-ms': '1' }).end('{"error":{"message":"rate limited"}}');
      return;
    }
    batches.push(input.length);
    const data = (await reference.embed(input)).map((embedding, index) => ({ index, embedding }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  db = await openTestDatabase();
  pool = new pg.Pool({ ...db.poolConfig, max: 4 });
});

afterAll(async () => {
  await pool?.end();
  await db?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('a store with OpenAIEmbedder', () => {
  it('adds texts in batches and finds them by meaning of their words', async () => {
    const embedder = new OpenAIEmbedder({
      baseUrl,
      model: 'text-embedding-3-small',
      dimensions: 1536,
      batchSize: 3,
      retryBaseDelayMs: 1,
    });
    const store = createVectorStore<{ topic: string }>(db.prisma, { pool, embedder });
    failNext = 1;
    const result = await store.addTexts([
      { content: 'HNSW graphs answer nearest neighbour queries quickly', metadata: { topic: 'hnsw' } },
      { content: 'IVFFlat needs training data before its lists are built', metadata: { topic: 'ivfflat' } },
      { content: 'VACUUM ANALYZE after a bulk load keeps plans right', metadata: { topic: 'maintenance' } },
      { content: 'raise ef_search for better recall of HNSW scans', metadata: { topic: 'hnsw' } },
      { content: 'partial indexes serve filtered searches', metadata: { topic: 'filters' } },
    ]);
    expect(result.inserted).toBe(5);
    expect([...batches].sort()).toEqual([2, 3]); // two requests in flight: either may finish first
    const { results: hits } = await store.searchText('training the IVFFlat lists', { k: 2 });
    expect(hits[0]?.content).toBe('IVFFlat needs training data before its lists are built');
    const filtered = await store.searchText('HNSW recall', { k: 5, filter: { topic: 'hnsw' } });
    expect(filtered.results.map((h) => h.metadata?.topic)).toEqual(['hnsw', 'hnsw']);
    expect(filtered.results[0]?.content).toBe('raise ef_search for better recall of HNSW scans');
  });
});
