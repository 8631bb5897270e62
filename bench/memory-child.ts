/**
 * One bulk load through the store in a process of its own, for the memory measurement: rows come from a
 * generator that `addMany` consumes as a stream (one call, one transaction; binary COPY through the pool, or
 * multi-row INSERTs through Prisma with `method: 'insert'`),
 * and the process's RSS is sampled every 10 ms. Arguments: one JSON
 * object `{ url, table, dims, rows, seed, method }`; prints one JSON line with the figures.
 */

import { createVectorStore } from '../src/store/vector-store.js';
import { toDoc } from './bulk-load.js';
import { Mixture } from './dataset.js';
import { prismaClient } from './engine.js';

interface Args {
  readonly url: string;
  readonly table: string;
  readonly dims: number;
  readonly rows: number;
  readonly seed: number;
  /** The store's bulk path: `copy` (through the pool) or `insert` (multi-row INSERTs through Prisma). */
  readonly method: 'copy' | 'insert';
  /** PrismaClient's `queryPlanCacheMaxSize` (0 turns the query plan cache off); absent: Prisma's default. */
  readonly queryPlanCacheMaxSize?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const app = prismaClient(args.url, 1, args.queryPlanCacheMaxSize);
const prisma = app.prisma;
const store = createVectorStore(prisma, {
  table: args.table,
  dimensions: args.dims,
  partialIndexPredicates: [],
  pool: app.pool,
});
await store.pgvectorVersion();
const mixture = new Mixture({ dims: args.dims, clusters: 50, spread: 0.5, seed: args.seed });

let peak = process.memoryUsage.rss();
let peakHeap = process.memoryUsage().heapUsed;
const baseline = peak;
const sample = () => {
  peak = Math.max(peak, process.memoryUsage.rss());
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
};
const timer = setInterval(sample, 10);
const start = performance.now();
function* docs() {
  for (const row of mixture.rows(args.rows)) yield toDoc(row);
}
// The whole load is one call: ANALYZE before the commit, VACUUM (ANALYZE) after it.
const result = await store.addMany(docs(), { returnIds: false, method: args.method });
const inserted = result.inserted;
const seconds = (performance.now() - start) / 1000;
sample();
clearInterval(timer);
// With --expose-gc (the parent passes it): what is still reachable after the load, i.e. retained, not garbage.
(globalThis as { gc?: () => void }).gc?.();
const heapAfterGc = process.memoryUsage().heapUsed;
await app.close();
process.stdout.write(
  `${JSON.stringify({ rows: args.rows, inserted, baselineRss: baseline, peakRss: peak, peakHeapUsed: peakHeap, heapAfterGc, seconds })}\n`,
);
