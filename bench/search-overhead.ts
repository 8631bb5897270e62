/**
 * Search overhead: the store's `search(q, { k: 10 })` against the very same SQL text and parameters sent
 * with `pg` directly (captured from the store's own `$queryRaw` calls, so both run the same statement with the
 * same binary vector). The store is wired as the README recommends: its `pool` is the `pg.Pool` behind the
 * Prisma adapter, so searches go to the pool (`searchVia: 'pool'`). At concurrency 1 a third contender,
 * the same store with `searchVia: 'prisma'` (`$queryRaw`), shows what Prisma's raw-query layer costs.
 * Interleaved per query (contender order shuffled), at concurrency 1, then at concurrency 8 (8 workers sharing
 * a queue of queries; the app's pool and a `pg.Pool` of 8 connections).
 */

import type { Sql } from '@prisma/client/runtime/client';
import pg from 'pg';
import type { PrismaClient } from '../src/generated/prisma/client.js';
import { createVectorStore } from '../src/store/vector-store.js';
import { capturingClient } from './engine.js';
import { type Goal, goal, now, roundOrder, type Summary, summarize } from './stats.js';

export interface OverheadRun {
  readonly latencyMs: { readonly store: Summary; readonly pg: Summary; readonly storeViaPrisma?: Summary };
  readonly ratio: { readonly p50: number; readonly p99: number };
  /** Queries per second (concurrency runs only). */
  readonly qps?: { readonly store: number; readonly pg: number; readonly ratio: number };
  readonly errors: { readonly store: number; readonly pg: number };
}

export interface OverheadResult {
  readonly dims: number;
  readonly rows: number;
  readonly k: number;
  readonly queries: number;
  readonly rounds: number;
  readonly sql: string;
  readonly concurrency1: OverheadRun;
  readonly concurrency8: OverheadRun;
  readonly sameResults: boolean;
  /** Vector bytes per query: what the store binds vs pgvector's binary size and the text a JSON literal takes. */
  readonly vectorBytesPerQuery: {
    readonly store: number;
    readonly pgvectorBinary: number;
    readonly text: number;
  };
  readonly goals: Goal[];
}

interface Captured {
  readonly text: string;
  readonly values: unknown[];
}

function runOf(store: number[], pgl: number[], errors: { store: number; pg: number }): OverheadRun {
  const s = summarize(store);
  const p = summarize(pgl);
  return { latencyMs: { store: s, pg: p }, ratio: { p50: s.median / p.median, p99: s.p99 / p.p99 }, errors };
}

/** Runs the search-overhead comparison on a loaded, indexed table. */
export async function benchSearchOverhead(opts: {
  readonly url: string;
  readonly prisma: PrismaClient;
  /** The pool behind `prisma`'s adapter: the store's `pool`. */
  readonly pool: pg.Pool;
  readonly table: string;
  readonly dims: number;
  readonly rows: number;
  readonly queries: readonly Float32Array[];
  readonly rounds: number;
  readonly embedded: boolean;
  readonly log: (line: string) => void;
}): Promise<OverheadResult> {
  const { prisma, table, dims, queries, rounds, log } = opts;
  const k = 10;
  const config = { table, dimensions: dims, partialIndexPredicates: [] };
  const store = createVectorStore(prisma, { ...config, pool: opts.pool });
  const storeViaPrisma = createVectorStore(prisma, { ...config, pool: opts.pool, searchVia: 'prisma' });

  // The store's exact statements, captured through a client that records what the store hands to Prisma.
  let last: Sql | undefined;
  const capturing = capturingClient(prisma, (q) => {
    last = q;
  });
  const capturingStore = createVectorStore(capturing, { ...config, vectorEncoding: 'binary' });
  const captured: Captured[] = [];
  for (const q of queries) {
    await capturingStore.search(q, { k });
    captured.push({ text: last!.text, values: [...last!.values] });
  }
  const vectorParam = captured[0]!.values.find((v) => v instanceof Uint8Array) as Uint8Array | undefined;

  const client = new pg.Client({ connectionString: opts.url });
  await client.connect();
  const pool = new pg.Pool({ connectionString: opts.url, max: 8 });
  const viaStore = async (i: number, s = store) =>
    (await s.search(queries[i]!, { k })).results.map((r) => r.id);
  const viaPg = async (i: number, c: pg.Client | pg.Pool = client) => {
    const q = captured[i]!;
    return (await c.query<{ id: string }>(q.text, q.values)).rows.map((r) => r.id);
  };

  // Same rows both ways, and a warm-up.
  let sameResults = true;
  for (let i = 0; i < Math.min(queries.length, 20); i++) {
    const a = await viaStore(i);
    const b = await viaPg(i);
    if (a.join() !== b.join()) sameResults = false;
  }

  // Concurrency 1: per query, the three contenders in a shuffled order (roundOrder).
  const t1 = { store: [] as number[], pg: [] as number[], storeViaPrisma: [] as number[] };
  const contenders = ['store', 'pg', 'storeViaPrisma'] as const;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < queries.length; i++) {
      for (const who of roundOrder(contenders, r * queries.length + i)) {
        const start = now();
        if (who === 'pg') await viaPg(i);
        else await viaStore(i, who === 'store' ? store : storeViaPrisma);
        t1[who].push(now() - start);
      }
    }
  }
  const c1 = runOf(t1.store, t1.pg, { store: 0, pg: 0 });
  const concurrency1: OverheadRun = {
    ...c1,
    latencyMs: { ...c1.latencyMs, storeViaPrisma: summarize(t1.storeViaPrisma) },
  };
  log(
    `    c1: store p50 ${concurrency1.latencyMs.store.median.toFixed(2)} ms, pg p50 ${concurrency1.latencyMs.pg.median.toFixed(2)} ms, store via Prisma p50 ${concurrency1.latencyMs.storeViaPrisma?.median.toFixed(2)} ms`,
  );

  // Concurrency 8: blocks of all queries, store block and pg block alternating.
  const t8 = { store: [] as number[], pg: [] as number[] };
  const wall = { store: [] as number[], pg: [] as number[] };
  const errors = { store: 0, pg: 0 };
  for (let r = 0; r < rounds * 2; r++) {
    const who = r % 2 === 0 ? 'store' : 'pg';
    let next = 0;
    const start = now();
    const worker = async () => {
      while (next < queries.length) {
        const i = next++;
        const s = now();
        try {
          if (who === 'store') await viaStore(i);
          else await viaPg(i, pool);
          t8[who].push(now() - s);
        } catch {
          errors[who]++;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    wall[who].push(now() - start);
  }
  const qps = (w: number[]) => queries.length / (summarize(w).median / 1000);
  const c8 = runOf(t8.store, t8.pg, errors);
  const concurrency8: OverheadRun = {
    ...c8,
    qps: { store: qps(wall.store), pg: qps(wall.pg), ratio: qps(wall.store) / qps(wall.pg) },
  };
  log(
    `    c8: store p50 ${c8.latencyMs.store.median.toFixed(2)} ms, pg p50 ${c8.latencyMs.pg.median.toFixed(2)} ms, errors ${errors.store}/${errors.pg}`,
  );
  await client.end();
  await pool.end();

  const text =
    queries.reduce((s, q) => s + Buffer.byteLength(`[${Array.prototype.join.call(q, ',')}]`), 0) /
    queries.length;
  const storeBytes = vectorParam?.length ?? Number.NaN;
  const queueNote = opts.embedded
    ? 'embedded server: one PostgreSQL session, the 8 connections queue'
    : undefined;
  return {
    dims,
    rows: opts.rows,
    k,
    queries: queries.length,
    rounds,
    sql: captured[0]!.text,
    concurrency1,
    concurrency8,
    sameResults,
    vectorBytesPerQuery: { store: storeBytes, pgvectorBinary: 4 * dims + 4, text },
    goals: [
      goal(
        `search.${dims}.c1.p50`,
        `${dims}d search p50 store ÷ same SQL via pg, concurrency 1`,
        concurrency1.ratio.p50,
        { atMost: 1.15 },
      ),
      goal(
        `search.${dims}.c1.p99`,
        `${dims}d search p99 store ÷ same SQL via pg, concurrency 1`,
        concurrency1.ratio.p99,
        { atMost: 1.3 },
      ),
      goal(
        `search.${dims}.c8.p50`,
        `${dims}d search p50 store ÷ pg, concurrency 8`,
        concurrency8.ratio.p50,
        { atMost: 1.15 },
        '×',
        queueNote,
      ),
      goal(
        `search.${dims}.c8.p99`,
        `${dims}d search p99 store ÷ pg, concurrency 8`,
        concurrency8.ratio.p99,
        { atMost: 1.3 },
        '×',
        queueNote,
      ),
      goal(
        `search.${dims}.bytesPerQuery`,
        `${dims}d vector bytes per query ÷ pgvector binary (${4 * dims + 4})`,
        storeBytes / (4 * dims + 4),
        { atMost: 1 },
      ),
      goal(
        `search.${dims}.sameResults`,
        `${dims}d store and pg return the same ids`,
        sameResults ? 1 : 0,
        { atLeast: 1 },
        '',
      ),
    ],
  };
}
