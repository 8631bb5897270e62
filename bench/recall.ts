/**
 * Recall of the HNSW index against exact search (computed in JS over the same float4 vectors), across
 * `hnsw.ef_search`, and filtered searches at 10% and 1% selectivity with and without iterative scans.
 * All searches go through the store (wired with the app's pool); every query visits every contender in
 * shuffled order (interleaved). On small tables the planner answers filtered searches with a sequential scan
 * (exact), so the filtered cases run twice: as the planner chooses, and with the HNSW index forced
 * (`SET LOCAL enable_seqscan = off` in each search's transaction) — where iterative scans make the difference.
 */

import type pg from 'pg';
import type { PrismaClient } from '../src/generated/prisma/client.js';
import type { IterativeScan } from '../src/store/config.js';
import type { PoolQuery, StorePool, StorePoolClient } from '../src/store/pool.js';
import { createVectorStore } from '../src/store/vector-store.js';
import { exactTopK, type Row, recallOf } from './dataset.js';
import { type Goal, goal, now, roundOrder, type Summary, summarize } from './stats.js';

export const EF_LADDER = [10, 20, 40, 80, 160, 320] as const;
export const RECALL_TARGET = 0.95;

export interface LadderPoint {
  readonly efSearch: number;
  readonly recall: number;
  readonly minRecall: number;
  readonly latencyMs: Summary;
}

export interface FilteredCase {
  readonly name: string;
  /** The HNSW index forced (`enable_seqscan = off`) instead of the planner's choice. */
  readonly indexForced?: boolean;
  /** With a partial HNSW index on the filter's predicate (and the store told about it). */
  readonly partialIndex?: boolean;
  readonly selectivity: number;
  readonly iterativeScan: IterativeScan | 'n/a';
  readonly recall: number;
  readonly minRows: number;
  readonly meanRows: number;
  /** Rows matching the filter (k or fewer means the search should return them all). */
  readonly matching: number;
  /** Fewest rows returned ÷ min(k, matching rows): 1 = every query got all it could get. */
  readonly fillRatio: number;
  readonly fullFraction: number;
  readonly latencyMs: Summary;
  readonly p50VsUnfiltered: number;
  readonly indexes: string[];
}

export interface RecallResult {
  readonly dims: number;
  readonly rows: number;
  readonly queries: number;
  readonly k: number;
  readonly ladder: LadderPoint[];
  readonly recommendedEfSearch: number | undefined;
  readonly recommendedBy: string;
  /** The bench's own rule on its own ladder (smallest ef_search with mean recall ≥ 0.95), for comparison. */
  readonly benchRule: number | undefined;
  /** What src/ops/tuning.ts measured (recall vs its own exact search, p50 of the bare query), when it ran. */
  readonly tuner?: {
    readonly recommended: number | undefined;
    readonly steps: readonly { value: number; recall: number; p50Ms: number; plannerUsesIndex: boolean }[];
    readonly seconds: number;
  };
  readonly tunerError?: string;
  readonly filtered: FilteredCase[];
  readonly goals: Goal[];
}

/** The smallest ef_search whose mean recall reaches the target (the tuner's rule). */
export function recommend(ladder: readonly LadderPoint[], target = RECALL_TARGET): number | undefined {
  return ladder.find((p) => p.recall >= target)?.efSearch;
}

/**
 * The app's pool, with `SET LOCAL enable_seqscan = off` after every BEGIN and around every single query:
 * the store's searches through it use the vector index whenever the plan can (bench only).
 */
function indexForcingPool(pool: pg.Pool): StorePool {
  const connect = async (): Promise<StorePoolClient> => {
    const client = await pool.connect();
    const query = async (arg: string | PoolQuery) => {
      const result = await client.query(arg as string);
      if (arg === 'BEGIN') await client.query('SET LOCAL enable_seqscan = off');
      return result;
    };
    return { query, release: (destroy) => client.release(destroy) } as StorePoolClient;
  };
  return {
    connect,
    async query(statement) {
      const client = await connect();
      try {
        await client.query('BEGIN');
        const result = await client.query(statement);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
  };
}

/** Runs the recall ladder and the filtered searches on a loaded, indexed table. */
export async function benchRecall(opts: {
  readonly client: pg.Client;
  readonly prisma: PrismaClient;
  /** The pool behind `prisma`'s adapter: the store's `pool`. */
  readonly pool: pg.Pool;
  readonly table: string;
  readonly dims: number;
  readonly rows: readonly Row[];
  readonly queries: readonly Float32Array[];
  readonly rounds: number;
  readonly log: (line: string) => void;
}): Promise<RecallResult> {
  const { prisma, table, dims, rows, queries, rounds, log } = opts;
  const k = 10;
  const config = { table, dimensions: dims, partialIndexPredicates: [] };
  const store = createVectorStore(prisma, { ...config, pool: opts.pool });
  const forcing = createVectorStore(prisma, { ...config, pool: indexForcingPool(opts.pool) });
  const vectors = rows.map((r) => r.embedding);
  const truth = queries.map((q) => exactTopK(vectors, q, k).map((i) => rows[i]!.id));

  const lat = new Map<number, number[]>(EF_LADDER.map((ef) => [ef, []]));
  const rec = new Map<number, number[]>(EF_LADDER.map((ef) => [ef, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [i, q] of queries.entries()) {
      for (const ef of roundOrder(EF_LADDER, r * queries.length + i)) {
        const start = now();
        const { results } = await store.search(q, { k, efSearch: ef });
        lat.get(ef)!.push(now() - start);
        if (r === 0)
          rec.get(ef)!.push(
            recallOf(
              truth[i]!,
              results.map((h) => h.id),
            ),
          );
      }
    }
  }
  const ladder = EF_LADDER.map((ef) => {
    const rs = rec.get(ef)!;
    return {
      efSearch: ef,
      recall: rs.reduce((s, x) => s + x, 0) / rs.length,
      minRecall: Math.min(...rs),
      latencyMs: summarize(lat.get(ef)!),
    };
  });
  for (const p of ladder) {
    log(
      `    ${dims}d ef_search ${String(p.efSearch).padStart(3)}: recall@10 ${p.recall.toFixed(3)}, p50 ${p.latencyMs.median.toFixed(2)} ms`,
    );
  }
  const benchRule = recommend(ladder);
  // The tuner's recommendation (src/ops/tuning.ts, the same rule, measured on its own through pg) when it is
  // there and works; otherwise the bench's rule on its own ladder.
  let tuner: RecallResult['tuner'];
  let tunerError: string | undefined;
  try {
    const { tune } = await import('../src/ops/tuning.js');
    const start = now();
    const t = await tune(opts.client, {
      table,
      k,
      target: RECALL_TARGET,
      efSearchLadder: EF_LADDER,
      queries: queries.map((q) => Array.from(q)),
    });
    tuner = {
      recommended: t.recommended,
      steps: t.steps.map((x) => ({
        value: x.value,
        recall: x.recall,
        p50Ms: x.p50Ms,
        plannerUsesIndex: x.plannerUsesIndex,
      })),
      seconds: (now() - start) / 1000,
    };
    log(
      `    ${dims}d tuner (src/ops/tuning.ts): recommends ef_search ${t.recommended ?? 'none'} in ${tuner.seconds.toFixed(1)} s`,
    );
  } catch (error) {
    tunerError = error instanceof Error ? error.message : String(error);
    log(`    ${dims}d tuner failed, using the bench's rule: ${tunerError}`);
  }
  const recommendedEfSearch = tuner === undefined ? benchRule : tuner.recommended;
  const recommendedBy =
    tuner === undefined
      ? `the bench's rule (smallest ef_search of the ladder with mean recall@10 ≥ ${RECALL_TARGET}); src/ops/tuning.ts failed: ${tunerError}`
      : `src/ops/tuning.ts \`tune()\` on the same queries and ladder (the bench's own rule gives ${benchRule ?? 'none'})`;
  const ef = recommendedEfSearch ?? EF_LADDER[EF_LADDER.length - 1]!;

  // Filtered searches, at the recommended ef_search.
  type Case = {
    readonly name: string;
    readonly selectivity: number;
    readonly key: 's10' | 's1' | undefined;
    readonly scan: 'off' | undefined;
    readonly store: typeof store;
    readonly forced?: boolean;
    readonly partial?: boolean;
  };
  const filterOf = (key: 's10' | 's1' | undefined) => (key === undefined ? undefined : { [key]: 'y' });
  const truthOf = (key: 's10' | 's1' | undefined) =>
    key === undefined
      ? truth
      : queries.map((q) =>
          exactTopK(vectors, q, k, (i) => rows[i]!.metadata[key] === 'y').map((i) => rows[i]!.id),
        );
  /** Every query visits every case in a shuffled order; the first case is the unfiltered baseline. */
  const measure = async (cases: readonly Case[]): Promise<FilteredCase[]> => {
    const caseTruth = cases.map((c) => truthOf(c.key));
    const fl = cases.map(() => [] as number[]);
    const fr = cases.map(() => [] as number[]);
    const fn = cases.map(() => [] as number[]);
    let scanUsed = 'relaxed_order';
    const optionsOf = (c: Case) => {
      const filter = filterOf(c.key);
      return {
        k,
        efSearch: ef,
        ...(filter === undefined ? {} : { filter }),
        ...(c.scan === undefined ? {} : { iterativeScan: c.scan }),
      };
    };
    for (let r = 0; r < rounds; r++) {
      for (const [i, q] of queries.entries()) {
        for (const ci of roundOrder(
          cases.map((_, index) => index),
          r * queries.length + i,
        )) {
          const c = cases[ci]!;
          const start = now();
          const res = await c.store.search(q, optionsOf(c));
          fl[ci]!.push(now() - start);
          if (c.key !== undefined && c.scan === undefined && res.settings.iterativeScan !== undefined) {
            scanUsed = res.settings.iterativeScan;
          }
          if (r === 0) {
            fr[ci]!.push(
              recallOf(
                caseTruth[ci]![i]!,
                res.results.map((h) => h.id),
              ),
            );
            fn[ci]!.push(res.results.length);
          }
        }
      }
    }
    const unfilteredP50 = summarize(fl[0]!).median;
    const out: FilteredCase[] = [];
    for (const [ci, c] of cases.entries()) {
      const plan = await c.store.explainSearch(queries[0]!, optionsOf(c));
      const latencyMs = summarize(fl[ci]!);
      const counts = fn[ci]!;
      const key = c.key;
      const matching =
        key === undefined ? rows.length : rows.filter((row) => row.metadata[key] === 'y').length;
      out.push({
        name: c.name,
        ...(c.forced === true ? { indexForced: true } : {}),
        ...(c.partial === true ? { partialIndex: true } : {}),
        selectivity: c.selectivity,
        iterativeScan: c.key === undefined ? 'n/a' : (c.scan ?? (scanUsed as IterativeScan)),
        recall: fr[ci]!.reduce((s, x) => s + x, 0) / fr[ci]!.length,
        minRows: Math.min(...counts),
        meanRows: counts.reduce((s, x) => s + x, 0) / counts.length,
        matching,
        fillRatio: Math.min(...counts) / Math.min(k, matching),
        fullFraction: counts.filter((x) => x === Math.min(k, matching)).length / counts.length,
        latencyMs,
        p50VsUnfiltered: latencyMs.median / unfilteredP50,
        indexes: plan.indexes,
      });
    }
    return out;
  };
  const filtered = await measure([
    { name: 'unfiltered', selectivity: 1, key: undefined, scan: undefined, store },
    { name: '10%, iterative (store default)', selectivity: 0.1, key: 's10', scan: undefined, store },
    { name: '10%, iterativeScan off', selectivity: 0.1, key: 's10', scan: 'off', store },
    { name: '1%, iterative (store default)', selectivity: 0.01, key: 's1', scan: undefined, store },
    { name: '1%, iterativeScan off', selectivity: 0.01, key: 's1', scan: 'off', store },
    {
      name: '10%, iterative, index forced',
      selectivity: 0.1,
      key: 's10',
      scan: undefined,
      store: forcing,
      forced: true,
    },
    {
      name: '10%, iterativeScan off, index forced',
      selectivity: 0.1,
      key: 's10',
      scan: 'off',
      store: forcing,
      forced: true,
    },
    {
      name: '1%, iterative, index forced',
      selectivity: 0.01,
      key: 's1',
      scan: undefined,
      store: forcing,
      forced: true,
    },
    {
      name: '1%, iterativeScan off, index forced',
      selectivity: 0.01,
      key: 's1',
      scan: 'off',
      store: forcing,
      forced: true,
    },
  ]);
  // The playbook's answer to a selective filter used often: a partial HNSW index on it, whose predicate the
  // store writes literally (partialIndexPredicates). Measured in a phase of its own, the index dropped after.
  const partialIndex = `${table}_s1_hnsw_idx`;
  await opts.client.query(
    `CREATE INDEX "${partialIndex}" ON "${table}" USING hnsw (embedding vector_cosine_ops) WHERE (metadata ->> 's1') = 'y'`,
  );
  try {
    const partialConfig = { ...config, partialIndexPredicates: [{ key: 's1', value: 'y' }] };
    const partialStore = createVectorStore(prisma, { ...partialConfig, pool: opts.pool });
    const partialForcing = createVectorStore(prisma, { ...partialConfig, pool: indexForcingPool(opts.pool) });
    filtered.push(
      ...(
        await measure([
          {
            name: 'unfiltered (partial-index phase)',
            selectivity: 1,
            key: undefined,
            scan: undefined,
            store,
          },
          {
            name: '1%, partial index',
            selectivity: 0.01,
            key: 's1',
            scan: undefined,
            store: partialStore,
            partial: true,
          },
          {
            name: '1%, partial index, index forced',
            selectivity: 0.01,
            key: 's1',
            scan: undefined,
            store: partialForcing,
            forced: true,
            partial: true,
          },
        ])
      ).slice(1),
    );
  } finally {
    await opts.client.query(`DROP INDEX "${partialIndex}"`);
  }
  for (const f of filtered) {
    log(
      `    ${dims}d ${f.name.padEnd(38)} recall ${f.recall.toFixed(3)}, rows min ${f.minRows} mean ${f.meanRows.toFixed(1)}, p50 ${f.latencyMs.median.toFixed(2)} ms (${f.p50VsUnfiltered.toFixed(2)}×), ${f.indexes.join(',') || 'seq scan'}`,
    );
  }
  const goals: Goal[] = [
    goal(
      `recall.${dims}.recommended`,
      `${dims}d recall@10 (bench, vs exact) at the ${tuner === undefined ? "bench rule's" : "tuner's"} recommended ef_search (${recommendedEfSearch ?? 'none reached 0.95'})`,
      recommendedEfSearch === undefined
        ? Math.max(...ladder.map((p) => p.recall))
        : ladder.find((p) => p.efSearch === recommendedEfSearch)!.recall,
      { atLeast: RECALL_TARGET },
      '',
    ),
  ];
  // Goals: what users get with the store's defaults (the planner's choice), and with a partial index for
  // the selective filter (the playbook's recommendation). The forced-index rows are the contrast.
  const iterative = filtered.filter(
    (x) => x.iterativeScan !== 'off' && x.iterativeScan !== 'n/a' && x.indexForced !== true,
  );
  for (const f of iterative) {
    const tag = `filtered.${dims}.${f.selectivity === 0.1 ? '10pct' : '1pct'}${f.partialIndex === true ? '.partialIndex' : ''}${f.indexForced === true ? '.indexForced' : ''}`;
    goals.push(
      goal(
        `${tag}.rows`,
        `${dims}d ${f.name}: fewest rows returned ÷ min(k = ${k}, ${f.matching} matching rows)`,
        f.fillRatio,
        { atLeast: 1 },
        '',
        `fewest ${f.minRows}, mean ${f.meanRows.toFixed(1)}`,
      ),
      goal(
        `${tag}.recall`,
        `${dims}d ${f.name}: recall@10 vs exact filtered search`,
        f.recall,
        { atLeast: 0.9 },
        '',
      ),
      goal(`${tag}.latency`, `${dims}d ${f.name}: p50 ÷ unfiltered p50 (same ef_search)`, f.p50VsUnfiltered, {
        atMost: 3,
      }),
    );
  }
  return {
    dims,
    rows: rows.length,
    queries: queries.length,
    k,
    ladder,
    recommendedEfSearch,
    recommendedBy,
    benchRule,
    ...(tuner === undefined ? {} : { tuner }),
    ...(tunerError === undefined ? {} : { tunerError }),
    filtered,
    goals,
  };
}
