/**
 * `npm run bench -- --scale`: search at scale on the native server (issue #10). On the bench cluster
 * (bench/scale-cluster.ts: kept between runs), for each table (bench/scale-data.ts: loaded and indexed once)
 * and each case (bench/scale-cases.ts), the store's `search` and hand-written SQL through `pg` run
 * interleaved, query by query, against the exact answers (cached under bench/results/scale-truth/). The
 * baseline of a case is the fastest hand-written variant whose recall@k reaches 0.95. Results go to
 * `bench/results/<date>-scale[-quick].json`; a full run renders the "Search at scale (native)" section of
 * docs/BENCHMARKS.md and docs/bench-scale.svg (bench/scale-report.ts).
 *
 *   npm run bench -- --scale                       # 100k / 300k / 1M × 384, 200k × 1536, 100k × 3072
 *   npm run bench -- --scale --quick               # smoke run: 20k × 384, 5k × 3072, throwaway cluster
 *   npm run bench -- --scale --sizes 384x100k,384x300k --queries 50
 *   npm run bench -- --scale --sizes 384x1m --merge  # re-measure one table into the latest full run (+ docs)
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import type { NativeServer } from '../src/embedded/native-server.js';
import { createVectorStore } from '../src/store/vector-store.js';
import { Mixture } from './dataset.js';
import { pgClient, prismaClient, runInfo } from './engine.js';
import { copyFrom, vectorBinary } from './pg-copy.js';
import { type CaseQuery, type ScaleCase, scaleCases } from './scale-cases.js';
import { openScaleCluster, openThrowawayCluster } from './scale-cluster.js';
import {
  encodeScaleCopy,
  FULL_TABLES,
  mixtureOf,
  parseTables,
  prepareScaleTable,
  recordStep,
  SCALE_MIXTURE,
  type ScaleTable,
  scaleRows,
  scaleTableName,
  scaleTableSql,
  TUNE_FILTERED_QUERIES,
  TUNE_QUERIES,
} from './scale-data.js';
import { latestScaleRun, renderScaleDocs } from './scale-report.js';
import { fmt, roundOrder, summarize } from './stats.js';

/** Recall every case should reach, and the latency bounds of the goals. */
export const RECALL_TARGET = 0.95;
export const FILTERED_BOUND = 1.2;
export const UNFILTERED_BOUND = 1.1;

/** One contender's figures in a case. */
export interface ContenderResult {
  readonly name: string;
  readonly kind: 'store' | 'sql';
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly recall: number;
  /** Fewest rows any query returned. */
  readonly minRows: number;
  /** Queries that returned fewer than min(k, matching) rows. */
  readonly short: number;
  /** Store only: strategies the results reported, with counts. */
  readonly strategies?: Record<string, number>;
  /** Store only: where the plans' estimates came from (`plan.estimateSource`), with counts. */
  readonly sources?: Record<string, number>;
  readonly error?: string;
}

export interface GoalResult {
  readonly id: string;
  readonly pass: boolean;
  readonly shown: string;
  readonly bound: string;
  readonly note?: string;
}

/** A case on a table. */
export interface CaseResult {
  readonly table: string;
  readonly rows: number;
  readonly dims: number;
  readonly case: string;
  readonly label: string;
  readonly k: number;
  readonly nominal: number;
  readonly queries: number;
  /** Matching rows: median and fewest over the queries. */
  readonly matching: { readonly median: number; readonly min: number };
  readonly selectivity: number;
  readonly contenders: readonly ContenderResult[];
  /** The store's explainSearch of the first query (whatever it reports), if any. */
  readonly explain?: unknown;
  /** Per store contender: its baseline, ratio and goals. */
  readonly verdicts: readonly Verdict[];
}

export interface Verdict {
  readonly store: string;
  readonly baseline: string | undefined;
  readonly baselineReachesTarget: boolean;
  /** The hand-written SQL with the store's settings (unfiltered cases). */
  readonly sameSql?: string;
  readonly ratio: number;
  readonly sameSqlRatio?: number;
  readonly goals: readonly GoalResult[];
}

type Vector = Float32Array;

interface Contender {
  readonly name: string;
  readonly kind: 'store' | 'sql';
  run(q: Vector, cq: CaseQuery, k: number): Promise<{ ids: string[]; strategy?: string; source?: string }>;
}

const log = (line: string) => console.log(line);

function strategyOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.strategy === 'string') return v.strategy;
  for (const key of ['plan', 'choice', 'planChoice', 'strategy']) {
    const inner = v[key];
    if (
      inner !== null &&
      typeof inner === 'object' &&
      typeof (inner as { strategy?: unknown }).strategy === 'string'
    )
      return (inner as { strategy: string }).strategy;
  }
  return undefined;
}

/**
 * Where hand-written SQL runs: the store's own `pg.Pool` (what an app would send it through), so that the
 * store and the SQL beside it meet the same warm backend — `pg-pool` hands out its most recently released
 * connection, and one run at a time uses one. A dedicated `pg.Client` that only hand-written SQL used stayed hot
 * while the store's connection sat idle behind a dozen other contenders, which cost the store ~0.7 ms per
 * search on this 2-core machine, a wait the app never sees.
 */
type HandConnection = pg.Client | pg.Pool;

/** Hand-written SQL through `pg`, with the three shapes of query the variants use. */
class HandSql {
  constructor(readonly conn: HandConnection) {}

  async plain(text: string, values: readonly unknown[]): Promise<string[]> {
    const { rows } = await this.conn.query<{ id: string }>(text, values as unknown[]);
    return rows.map((r) => r.id);
  }

  /** `BEGIN; SET LOCAL …` in one round trip, the query, `COMMIT`. */
  async withSettings(settings: string, text: string, values: readonly unknown[]): Promise<string[]> {
    const pool = 'totalCount' in this.conn ? this.conn : undefined;
    const client = pool === undefined ? (this.conn as pg.Client) : await pool.connect();
    try {
      await client.query(`BEGIN; ${settings}`);
      try {
        const { rows } = await client.query<{ id: string }>(text, values as unknown[]);
        await client.query('COMMIT');
        return rows.map((r) => r.id);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    } finally {
      if (pool !== undefined) (client as pg.PoolClient).release();
    }
  }
}

const iterSettings = (ef: number, mst: number) =>
  `SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = ${ef}; SET LOCAL hnsw.max_scan_tuples = ${mst};`;

/** Hand-written variants of a 384/1536-dim case. */
function sqlContenders(sql: HandSql, table: string, c: ScaleCase): Contender[] {
  const t = `"${table}"`;
  const out: Contender[] = [];
  const add = (name: string, run: Contender['run']) => out.push({ name, kind: 'sql', run });
  const knn = (where: string, k: number) =>
    `SELECT id FROM ${t} WHERE ${where} ORDER BY "embedding" <=> $1::vector LIMIT ${k}`;
  if (c.nominal === 1) {
    add('hnsw ef 40 (plain)', async (q, _cq, k) => ({
      ids: await sql.plain(`SELECT id FROM ${t} ORDER BY "embedding" <=> $1::vector LIMIT ${k}`, [
        vectorBinary(q),
      ]),
    }));
    for (const ef of [40, 64, 100, 160, 240, 320, 400, 600, 800, 1000]) {
      if (ef < c.k) continue;
      add(`hnsw ef ${ef}`, async (q, _cq, k) => ({
        ids: await sql.withSettings(
          `SET LOCAL hnsw.ef_search = ${ef};`,
          `SELECT id FROM ${t} ORDER BY "embedding" <=> $1::vector LIMIT ${k}`,
          [vectorBinary(q)],
        ),
      }));
    }
    return out;
  }
  const formNames = c.query(0).forms.map((f) => f.name);
  for (const name of formNames) {
    const form = (cq: CaseQuery) => cq.forms.find((f) => f.name === name)!;
    if (name === 'partial') {
      for (const ef of [40, 100]) {
        add(`partial index, ef ${ef}`, async (q, cq, k) => ({
          ids: await sql.withSettings(`SET LOCAL hnsw.ef_search = ${ef};`, knn(form(cq).where, k), [
            vectorBinary(q),
            ...form(cq).params,
          ]),
        }));
      }
      continue;
    }
    add(`planner's choice (${name})`, async (q, cq, k) => ({
      ids: await sql.plain(knn(form(cq).where, k), [vectorBinary(q), ...form(cq).params]),
    }));
    add(`exact over the ${name}-selected rows`, async (q, cq, k) => ({
      ids: await sql.plain(
        `SELECT id FROM (SELECT id, "embedding" <=> $1::vector AS d FROM ${t} WHERE ${form(cq).where} OFFSET 0) s ORDER BY d LIMIT ${k}`,
        [vectorBinary(q), ...form(cq).params],
      ),
    }));
  }
  const first = (cq: CaseQuery) => cq.forms.find((f) => f.name !== 'partial')!;
  for (const [ef, mst] of [
    [40, 20_000],
    [100, 100_000],
    [200, 1_000_000],
    [400, 2_000_000],
  ] as const) {
    add(
      `iterative ef ${ef}, max_scan_tuples ${mst >= 1e6 ? `${mst / 1e6}M` : `${mst / 1000}k`}`,
      async (q, cq, k) => ({
        ids: await sql.withSettings(
          iterSettings(ef, mst),
          `WITH r AS MATERIALIZED (${knn(first(cq).where, k)}) SELECT id FROM r`,
          [vectorBinary(q), ...first(cq).params],
        ),
      }),
    );
  }
  return out;
}

/** Exact answers (ids, best first) per query, cached per table, case and query count. */
async function groundTruth(
  client: pg.Client,
  table: string,
  c: ScaleCase,
  queries: readonly Vector[],
  truthDir: string,
): Promise<{ ids: string[][]; matching: number[] }> {
  // Unfiltered cases share one answer list (the best 50; k 10 reads its first 10).
  const id = c.nominal === 1 ? 'unfiltered' : c.id;
  const kTruth = c.nominal === 1 ? Math.max(50, c.k) : c.k;
  const file = `${truthDir}/${table}-${id}-k${kTruth}-q${queries.length}-c${SCALE_MIXTURE.clusters}-sp${SCALE_MIXTURE.spread}.json`;
  if (existsSync(file))
    return JSON.parse(readFileSync(file, 'utf8')) as { ids: string[][]; matching: number[] };
  const started = performance.now();
  const ids: string[][] = [];
  const matching: number[] = [];
  const sql = new HandSql(client);
  for (let i = 0; i < queries.length; i++) {
    const cq = c.query(i);
    const form = cq.forms.find((f) => f.name !== 'partial');
    const where = form === undefined ? 'TRUE' : form.where;
    const params = form === undefined ? [] : form.params;
    ids.push(
      await sql.withSettings(
        'SET LOCAL enable_indexscan = off;',
        `SELECT id FROM "${table}" WHERE ${where} ORDER BY "embedding" <=> $1::vector LIMIT ${kTruth}`,
        [vectorBinary(queries[i] as Vector), ...params],
      ),
    );
    if (form === undefined) {
      matching.push(-1);
    } else {
      const { rows } = await client.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM "${table}" WHERE ${where} AND $1::int = 1`,
        [1, ...params],
      );
      matching.push(Number(rows[0]?.n));
    }
  }
  const out = { ids, matching };
  writeFileSync(file, `${JSON.stringify(out)}\n`);
  log(
    `  truth ${c.id}: ${queries.length} exact searches in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return out;
}

function recallOf(truth: readonly string[], got: readonly string[], k: number): number {
  const want = truth.slice(0, k);
  if (want.length === 0) return 1;
  const set = new Set(got);
  return want.filter((t) => set.has(t)).length / want.length;
}

interface Sample {
  ms: number[];
  recall: number[];
  rows: number[];
  short: number;
  strategies: Record<string, number>;
  sources: Record<string, number>;
  error?: string;
}

/** Runs the contenders interleaved over the queries (a warm-up pass first) and summarises each. */
async function measure(
  contenders: readonly Contender[],
  c: ScaleCase,
  queries: readonly Vector[],
  truth: { ids: string[][]; matching: number[] },
  tableRows: number,
): Promise<ContenderResult[]> {
  const samples = new Map<string, Sample>(
    contenders.map((x) => [x.name, { ms: [], recall: [], rows: [], short: 0, strategies: {}, sources: {} }]),
  );
  const warm = Math.min(5, queries.length);
  for (let i = 0; i < warm; i++)
    for (const x of contenders) await x.run(queries[i] as Vector, c.query(i), c.k).catch(() => {});
  for (let i = 0; i < queries.length; i++) {
    const cq = c.query(i);
    const q = queries[i] as Vector;
    const matching = truth.matching[i] === -1 ? tableRows : (truth.matching[i] as number);
    for (const x of roundOrder(contenders, i)) {
      const s = samples.get(x.name)!;
      if (s.error !== undefined) continue;
      const started = performance.now();
      try {
        const r = await x.run(q, cq, c.k);
        s.ms.push(performance.now() - started);
        s.recall.push(recallOf(truth.ids[i] as string[], r.ids, c.k));
        s.rows.push(r.ids.length);
        if (r.ids.length < Math.min(c.k, matching)) s.short++;
        if (r.strategy !== undefined) s.strategies[r.strategy] = (s.strategies[r.strategy] ?? 0) + 1;
        if (r.source !== undefined) s.sources[r.source] = (s.sources[r.source] ?? 0) + 1;
      } catch (error) {
        s.error = error instanceof Error ? error.message : String(error);
        log(`  ${x.name}: ${s.error}`);
      }
    }
  }
  return contenders.map((x) => {
    const s = samples.get(x.name)!;
    const t = summarize(s.ms);
    return {
      name: x.name,
      kind: x.kind,
      p50: t.median,
      p99: t.p99,
      mean: t.mean,
      recall: s.recall.length === 0 ? Number.NaN : s.recall.reduce((a, b) => a + b, 0) / s.recall.length,
      minRows: s.rows.length === 0 ? Number.NaN : Math.min(...s.rows),
      short: s.short,
      ...(x.kind === 'store' ? { strategies: s.strategies, sources: s.sources } : {}),
      ...(s.error === undefined ? {} : { error: s.error }),
    };
  });
}

/** The baseline among hand-written contenders: the fastest reaching the target, else the best recall. */
function baselineOf(sql: readonly ContenderResult[]): {
  baseline: ContenderResult | undefined;
  reaching: readonly ContenderResult[];
} {
  const reaching = sql.filter((r) => r.recall >= RECALL_TARGET);
  const baseline =
    reaching.length > 0
      ? reaching.reduce((a, b) => (b.p50 < a.p50 ? b : a))
      : sql.reduce<ContenderResult | undefined>(
          (a, b) => (a === undefined || b.recall > a.recall ? b : a),
          undefined,
        );
  return { baseline, reaching };
}

/**
 * The goals of each store in a case. `sameIndex`, when given, limits a store's baseline to the hand-written
 * contenders over the index it is configured for (and exact search): a 3072-dim table keeps one expression
 * index, halfvec or binary — the bench table has both, and the store of each is compared with the SQL of its
 * own (the fastest overall is noted beside).
 */
function verdicts(
  c: ScaleCase,
  results: readonly ContenderResult[],
  sameSql: ReadonlyMap<string, string>,
  sameIndex?: (store: string, sql: string) => boolean,
): Verdict[] {
  const allSql = results.filter((r) => r.kind === 'sql' && r.error === undefined);
  const overall = baselineOf(allSql);
  return results
    .filter((r) => r.kind === 'store')
    .map((s) => {
      const { baseline, reaching } =
        sameIndex === undefined ? overall : baselineOf(allSql.filter((r) => sameIndex(s.name, r.name)));
      const overallNote =
        sameIndex !== undefined && overall.baseline !== undefined && overall.baseline !== baseline
          ? `over its own index; the fastest overall, ${overall.baseline.name}: ${fmt(s.p50 / overall.baseline.p50)}×`
          : undefined;
      const goals: GoalResult[] = [];
      if (s.error !== undefined) {
        goals.push({ id: 'runs', pass: false, shown: 'error', bound: 'no error', note: s.error });
        return {
          store: s.name,
          baseline: baseline?.name,
          baselineReachesTarget: reaching.length > 0,
          ratio: Number.NaN,
          goals,
        };
      }
      goals.push({
        id: 'k rows',
        pass: s.short === 0,
        shown: s.short === 0 ? `min ${s.minRows}` : `${s.short} short (min ${s.minRows})`,
        bound: 'k whenever k match',
      });
      goals.push({
        id: 'recall',
        pass: s.recall >= RECALL_TARGET,
        shown: fmt(s.recall, 3),
        bound: `≥ ${RECALL_TARGET}`,
      });
      const ratio = baseline === undefined ? Number.NaN : s.p50 / baseline.p50;
      goals.push({
        id: 'p50 vs baseline',
        pass: ratio <= FILTERED_BOUND,
        shown: `${fmt(ratio)}×`,
        bound: `≤ ${FILTERED_BOUND}×`,
        ...(reaching.length === 0
          ? { note: 'no hand-written variant reached the recall target' }
          : overallNote === undefined
            ? {}
            : { note: overallNote }),
      });
      const same = sameSql.get(s.name);
      const sameRow = same === undefined ? undefined : results.find((r) => r.name === same);
      let sameSqlRatio: number | undefined;
      if (c.nominal === 1 && sameRow !== undefined) {
        sameSqlRatio = s.p50 / sameRow.p50;
        goals.push({
          id: 'p50 vs same SQL',
          pass: sameSqlRatio <= UNFILTERED_BOUND,
          shown: `${fmt(sameSqlRatio)}×`,
          bound: `≤ ${UNFILTERED_BOUND}×`,
          note: `vs ${same}`,
        });
      }
      return {
        store: s.name,
        baseline: baseline?.name,
        baselineReachesTarget: reaching.length > 0,
        ...(same === undefined ? {} : { sameSql: same }),
        ratio,
        ...(sameSqlRatio === undefined ? {} : { sameSqlRatio }),
        goals,
      };
    });
}

/** The name of the hand-written unfiltered variant with the store's settings. */
function sameSqlName(settings: { efSearch?: number } | undefined): string {
  // The store applies its settings in a transaction (BEGIN + set_config, the query, COMMIT): so does this.
  return `hnsw ef ${settings?.efSearch ?? 40}`;
}

interface StoreHandle {
  readonly name: string;
  readonly store: ReturnType<typeof createVectorStore>;
}

/**
 * Reads the table and its indexes into shared buffers (`pg_prewarm`) before its cases: a table built or
 * loaded earlier is otherwise cold, and its first cases would measure reads from the OS cache (at 1M rows
 * the first iterative searches took 25–115 ms instead of 3). Every contender then meets the same hot data.
 */
async function prewarm(client: pg.Client, table: string): Promise<void> {
  const started = performance.now();
  await client.query('CREATE EXTENSION IF NOT EXISTS pg_prewarm');
  const { rows } = await client.query<{ pages: string }>(
    `SELECT sum(pg_prewarm(c.oid))::bigint AS pages FROM pg_class c
      WHERE c.oid = $1::regclass OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = $1::regclass)`,
    [`"${table}"`],
  );
  log(
    `  prewarmed ${table}: ${Number(rows[0]?.pages ?? 0).toLocaleString('en-US')} pages in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

/** `pool`, recording the text and values of every statement sent as a query object (the store's searches). */
function recordingPool(pool: pg.Pool, into: { text: string; values: unknown[] }[]) {
  const record = (q: unknown) => {
    if (q !== null && typeof q === 'object' && typeof (q as { text?: unknown }).text === 'string') {
      const { text, values } = q as { text: string; values?: unknown[] };
      into.push({ text, values: values ?? [] });
    }
  };
  return {
    query: (q: pg.QueryConfig) => {
      record(q);
      return pool.query(q);
    },
    connect: async () => {
      const client = await pool.connect();
      return new Proxy(client, {
        get(target, key, receiver) {
          if (key !== 'query') return Reflect.get(target, key, receiver);
          return (q: unknown, ...rest: unknown[]) => {
            record(q);
            return (target.query as (...a: unknown[]) => unknown)(q, ...rest);
          };
        },
      });
    },
  };
}

/** The partial index of the 384/1536-dim tables (`s1 = 'y'`, 1% of the rows). */
const S1_PARTIAL = { key: 's1', value: 'y' } as const;

/** The store contenders of a table: defaults, and `recall: 0.95` when the store takes it. */
function makeStores(
  app: ReturnType<typeof prismaClient>,
  t: ScaleTable,
  notes: string[],
  extra: Record<string, unknown> = {},
): StoreHandle[] {
  const base = {
    table: scaleTableName(t),
    dimensions: t.dims,
    partialIndexPredicates: t.dims > 2000 ? [] : [S1_PARTIAL],
    pool: app.pool,
    ...extra,
  };
  const stores: StoreHandle[] = [{ name: 'store', store: createVectorStore(app.prisma, base as never) }];
  try {
    stores.push({
      name: 'store recall 0.95',
      store: createVectorStore(app.prisma, { ...base, recall: 0.95 } as never),
    });
  } catch (error) {
    notes.push(
      `store option recall: 0.95 refused: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return stores;
}

function storeContender(h: StoreHandle, forced?: Record<string, unknown>): Contender {
  return {
    name: h.name,
    kind: 'store',
    run: async (q, cq, k) => {
      const r = await h.store.search(q, {
        k,
        ...(cq.filter === undefined ? {} : { filter: cq.filter }),
        select: [],
        ...forced,
      } as never);
      const source = (r as { plan?: { estimateSource?: unknown } }).plan?.estimateSource;
      return {
        ids: r.results.map((x) => String((x as { id: unknown }).id)),
        strategy: strategyOf(r),
        ...(typeof source === 'string' ? { source } : {}),
      };
    },
  };
}

/**
 * Tunes the table's index for k 10 and 50 and stores the recall profile on it (for `recall: 0.95`); with
 * `partial`, the partial index of that predicate instead (the filter `{ key: value }` as the store compiles it
 * with that partial index configured).
 */
async function tuneTable(
  url: string,
  table: string,
  queries: readonly Vector[],
  notes: string[],
  partial?: { readonly key: string; readonly value: string },
  filters?: readonly Record<string, unknown>[],
): Promise<{ seconds: number; summary?: unknown } | undefined> {
  let tuning: typeof import('../src/ops/tuning.js');
  try {
    tuning = await import('../src/ops/tuning.js');
  } catch (error) {
    notes.push(`tuner not importable: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  const started = performance.now();
  try {
    const result = await tuning.tune(url, {
      table,
      k: [10, 50],
      queries: queries.map((q) => Array.from(q)),
      persist: 'index',
      ...(partial === undefined
        ? {}
        : { filters: [{ [partial.key]: partial.value }], partialIndexPredicates: [partial] }),
      ...(filters === undefined ? {} : { filters }),
    } as never);
    const seconds = (performance.now() - started) / 1000;
    const summary = (result as { perK?: unknown; recommended?: unknown; forK?: unknown }) ?? {};
    const on =
      partial !== undefined
        ? ` partial index ${partial.key} = '${partial.value}'`
        : filters !== undefined
          ? ` filtered ${JSON.stringify(filters)}`
          : '';
    log(`  tuned ${table}${on} (k 10, 50; ${queries.length} queries) in ${seconds.toFixed(1)} s`);
    return {
      seconds,
      summary: JSON.parse(JSON.stringify(summary, (_k, v) => (typeof v === 'bigint' ? String(v) : v))),
    };
  } catch (error) {
    notes.push(
      `tune --persist index failed on ${table}: ${error instanceof Error ? error.message : String(error)}`,
    );
    return undefined;
  }
}

/** What a tune step measures besides the unfiltered table index. */
interface TuneExtra {
  readonly partial?: { readonly key: string; readonly value: string };
  readonly filters?: readonly Record<string, unknown>[];
  /** Text the index's profile must hold for the step to count as done (e.g. `"iterative"`). */
  readonly containing?: string;
}

/**
 * Runs one tune step of a table unless it is recorded with as many query vectors and the index carries its
 * profile; records its duration and summary as the step.
 */
async function ensureTuned(
  on: {
    readonly client: pg.Client;
    readonly url: string;
    readonly table: string;
    readonly steps: Map<string, { seconds: number; detail: unknown }>;
    readonly result: TableResult;
    readonly notes: string[];
  },
  step: string,
  vectors: readonly Vector[],
  index: string,
  extra: TuneExtra,
): Promise<void> {
  const recorded = (on.steps.get(step)?.detail as { summary?: { queries?: unknown } } | undefined)?.summary
    ?.queries;
  if (recorded === vectors.length && (await hasProfile(on.client, index, extra.containing))) return;
  const tuned = await tuneTable(on.url, on.table, vectors, on.notes, extra.partial, extra.filters);
  if (tuned === undefined) return;
  await recordStep(on.client, on.table, step, tuned.seconds, { summary: tuned.summary ?? null });
  on.result.steps[step] = { seconds: tuned.seconds, detail: { summary: tuned.summary ?? null } };
}

/** Does the table's vector index carry a recall profile already (with `containing` in it, when given)? */
async function hasProfile(client: pg.Client, index: string, containing?: string): Promise<boolean> {
  const { rows } = await client.query<{ c: string | null }>(
    `SELECT obj_description(to_regclass($1), 'pg_class') AS c`,
    [`"${index}"`],
  );
  const comment = rows[0]?.c ?? '';
  return (
    comment.includes('prisma-pgvector:recall-profile') &&
    (containing === undefined || comment.includes(containing))
  );
}

export interface TableResult {
  readonly table: string;
  readonly dims: number;
  readonly rows: number;
  steps: Record<string, { seconds: number; detail: unknown }>;
  readonly defaultRecall?: { k10: number; k50: number };
  readonly tune?: unknown;
  readonly cases: CaseResult[];
}

async function benchTable(
  server: { url: string },
  client: pg.Client,
  t: ScaleTable,
  nQueries: number,
  truthDir: string,
  notes: string[],
  truthOnly = false,
): Promise<TableResult> {
  const table = scaleTableName(t);
  log(`\n== ${table} (${t.rows.toLocaleString('en-US')} × ${t.dims})`);
  const steps = await prepareScaleTable(client, t, log);
  const all = new Mixture(mixtureOf(t.dims)).queries(nQueries + TUNE_QUERIES);
  const queries = all.slice(0, nQueries);
  const tuneQueries = all.slice(nQueries);
  const result: TableResult = {
    table,
    dims: t.dims,
    rows: t.rows,
    steps: Object.fromEntries([...steps].map(([k, v]) => [k, { seconds: v.seconds, detail: v.detail }])),
    cases: [],
  };
  const app = prismaClient(server.url, 4);
  const sql = new HandSql(app.pool);
  try {
    if (t.dims > 2000) {
      if (truthOnly) {
        await groundTruth(client, table, scaleCases(nQueries)[0]!, queries, truthDir);
        return result;
      }
      await prewarm(client, table);
      result.cases.push(...(await benchWide(app, sql, client, t, queries, truthDir, notes)));
      return result;
    }
    // The recall profiles for `recall: 0.95`, measured once per table (durations recorded as steps): the
    // table index's (unfiltered), its filtered (iterative) entries beside them — an iterative scan under a
    // filter reaches less recall at the same ef_search (1M rows, 10% filter: 0.946 where the unfiltered
    // entries promised 0.95) — and the partial index's own (a graph of 1% of the rows).
    const tune = (step: string, vectors: readonly Vector[], index: string, extra: TuneExtra = {}) =>
      ensureTuned({ client, url: server.url, table, steps, result, notes }, step, vectors, index, extra);
    await tune('tune', tuneQueries, `${table}_hnsw`);
    await tune('tune_filtered', tuneQueries.slice(0, TUNE_FILTERED_QUERIES), `${table}_hnsw`, {
      filters: [{ s10: 'y' }],
      containing: '"iterative"',
    });
    await tune('tune_partial', tuneQueries, `${table}_s1_hnsw`, { partial: S1_PARTIAL });
    (result as { tune?: unknown }).tune = result.steps.tune;
    if (truthOnly) {
      for (const c of scaleCases(nQueries)) await groundTruth(client, table, c, queries, truthDir);
      return result;
    }
    await prewarm(client, table);
    const stores = makeStores(app, t, notes);
    const captured: { text: string; values: unknown[] }[] = [];
    const probeStores = makeStores(app, t, [], { pool: recordingPool(app.pool, captured) });
    for (const c of scaleCases(nQueries)) {
      const truth = await groundTruth(client, table, c, queries, truthDir);
      const contenders: Contender[] = [
        ...stores.map((s) => storeContender(s)),
        ...sqlContenders(sql, table, c),
      ];
      // What the store plans and which settings it applies, and its very statement (for "the same SQL via
      // pg"), from a twin of each store whose pool records what it sends.
      const sameSql = new Map<string, string>();
      let explain: unknown;
      for (const s of stores) {
        const twin = probeStores.find((p) => p.name === s.name)!;
        const filter = c.query(0).filter;
        try {
          captured.length = 0;
          const probe = await twin.store.search(
            queries[0] as Vector,
            { k: c.k, ...(filter === undefined ? {} : { filter }) } as never,
          );
          const statement = captured.at(-1);
          captured.length = 0;
          if (c.nominal === 1 && statement !== undefined && statement.values.length === 1) {
            // Unfiltered: the text is the same for every query, the only value is the query vector.
            const name = `${s.name}'s statement via pg`;
            sameSql.set(s.name, name);
            contenders.push({
              name,
              kind: 'sql',
              run: async (q) => ({ ids: await sql.plain(statement.text, [vectorBinary(q)]) }),
            });
          } else {
            sameSql.set(s.name, sameSqlName(probe.settings as { efSearch?: number }));
          }
          if (s.name === 'store') {
            const plan = await s.store.explainSearch(
              queries[0] as Vector,
              { k: c.k, ...(filter === undefined ? {} : { filter }) } as never,
            );
            const p = plan as unknown as Record<string, unknown>;
            explain = { ...p, plan: undefined, settings: probe.settings };
          }
        } catch (error) {
          notes.push(
            `${table} ${c.id} ${s.name} probe: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
      const started = performance.now();
      const measured = await measure(contenders, c, queries, truth, t.rows);
      const matchingList = truth.matching.map((m) => (m === -1 ? t.rows : m));
      const ms = summarize(matchingList);
      const caseResult: CaseResult = {
        table,
        rows: t.rows,
        dims: t.dims,
        case: c.id,
        label: c.label,
        k: c.k,
        nominal: c.nominal,
        queries: nQueries,
        matching: { median: ms.median, min: ms.min },
        selectivity: ms.median / t.rows,
        contenders: measured,
        ...(explain === undefined ? {} : { explain }),
        verdicts: verdicts(c, measured, sameSql),
      };
      result.cases.push(caseResult);
      printCase(caseResult, (performance.now() - started) / 1000);
    }
    const k10 = result.cases
      .find((x) => x.case === 'unfiltered-k10')
      ?.contenders.find((x) => x.name === 'hnsw ef 40 (plain)');
    const k50 = result.cases
      .find((x) => x.case === 'unfiltered-k50')
      ?.contenders.find((x) => x.name === 'hnsw ef 64');
    if (k10 !== undefined && k50 !== undefined) {
      (result as { defaultRecall?: unknown }).defaultRecall = { k10: k10.recall, k50: k50.recall };
      log(
        `  default HNSW (ef_search 40) recall@10 ${fmt(k10.recall, 3)} (the data is meant to be below ${RECALL_TARGET})`,
      );
    }
  } finally {
    await app.close();
  }
  return result;
}

/** 3072 dims: the store through the halfvec and the binary_quantize index vs the same by hand, and exact. */
async function benchWide(
  app: ReturnType<typeof prismaClient>,
  sql: HandSql,
  client: pg.Client,
  t: ScaleTable,
  queries: readonly Vector[],
  truthDir: string,
  notes: string[],
): Promise<CaseResult[]> {
  const table = scaleTableName(t);
  const d = t.dims;
  const out: CaseResult[] = [];
  const base = { table, dimensions: d, partialIndexPredicates: [], pool: app.pool };
  const stores: StoreHandle[] = [];
  for (const expression of ['halfvec', 'binary_quantize'] as const) {
    try {
      stores.push({
        name: `store ${expression}`,
        store: createVectorStore(app.prisma, { ...base, indexExpression: expression } as never),
      });
      // A recall target: no profile on an expression index, so the conservative ef_search (halfvec) or
      // candidate factor (binary_quantize, `rerankForRecall`).
      stores.push({
        name: `store ${expression} recall 0.95`,
        store: createVectorStore(app.prisma, {
          ...base,
          indexExpression: expression,
          recall: 0.95,
        } as never),
      });
    } catch (error) {
      notes.push(
        `store indexExpression '${expression}' refused: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  for (const k of [10]) {
    const c: ScaleCase = {
      id: `unfiltered-k${k}`,
      label: `unfiltered, k ${k}`,
      k,
      nominal: 1,
      partial: false,
      query: () => ({ filter: undefined, forms: [] }),
    };
    const truth = await groundTruth(client, table, c, queries, truthDir);
    const q = (v: Vector) => [vectorBinary(v)];
    const contenders: Contender[] = [...stores.map((s) => storeContender(s))];
    const add = (name: string, run: Contender['run']) => contenders.push({ name, kind: 'sql', run });
    for (const ef of [40, 100]) {
      add(`halfvec index, ef ${ef}, exact re-sort`, async (v) => ({
        ids: await sql.withSettings(
          `SET LOCAL hnsw.ef_search = ${ef};`,
          `SELECT id FROM (SELECT id, "embedding" <=> $1::vector AS d FROM "${table}" ORDER BY "embedding"::halfvec(${d}) <=> $1::vector::halfvec(${d}) LIMIT ${k}) s ORDER BY d`,
          q(v),
        ),
      }));
    }
    for (const factor of [4, 10, 20, 40]) {
      const candidates = k * factor;
      add(`binary index, ${factor}× candidates, re-ranked`, async (v) => ({
        ids: await sql.withSettings(
          `SET LOCAL hnsw.ef_search = ${Math.max(40, candidates)};`,
          `SELECT id FROM (SELECT id, "embedding" FROM "${table}" ORDER BY binary_quantize("embedding")::bit(${d}) <~> binary_quantize($1::vector) LIMIT ${candidates}) s ORDER BY "embedding" <=> $1::vector LIMIT ${k}`,
          q(v),
        ),
      }));
    }
    add('exact (no index)', async (v) => ({
      ids: await sql.plain(
        `SELECT id FROM (SELECT id, "embedding" <=> $1::vector AS d FROM "${table}" OFFSET 0) s ORDER BY d LIMIT ${k}`,
        q(v),
      ),
    }));
    const started = performance.now();
    const measured = await measure(contenders, c, queries, truth, t.rows);
    const sameSql = new Map<string, string>([
      ['store halfvec', 'halfvec index, ef 40, exact re-sort'],
      ['store binary_quantize', 'binary index, 10× candidates, re-ranked'],
      ['store halfvec recall 0.95', 'halfvec index, ef 100, exact re-sort'],
      ['store binary_quantize recall 0.95', 'binary index, 40× candidates, re-ranked'],
    ]);
    const result: CaseResult = {
      table,
      rows: t.rows,
      dims: d,
      case: c.id,
      label: c.label,
      k,
      nominal: 1,
      queries: queries.length,
      matching: { median: t.rows, min: t.rows },
      selectivity: 1,
      contenders: measured,
      verdicts: verdicts(
        c,
        measured,
        sameSql,
        (store, sqlName) =>
          sqlName.startsWith('exact') ||
          sqlName.startsWith(store.includes('binary_quantize') ? 'binary index' : 'halfvec index'),
      ),
    };
    out.push(result);
    printCase(result, (performance.now() - started) / 1000);
  }
  return out;
}

function printCase(r: CaseResult, seconds: number): void {
  log(
    `  -- ${r.label}: ${Math.round(r.matching.median).toLocaleString('en-US')} rows match (${fmt(r.selectivity * 100, 3)}%), ${r.queries} queries, ${seconds.toFixed(1)} s`,
  );
  for (const c of r.contenders) {
    const strategies =
      c.strategies === undefined || Object.keys(c.strategies).length === 0
        ? ''
        : ` [${Object.entries(c.strategies)
            .map(([s, n]) => `${s} ${n}`)
            .join(', ')}${
            c.sources === undefined || Object.keys(c.sources).length === 0
              ? ''
              : `; from ${Object.entries(c.sources)
                  .map(([s, n]) => `${s} ${n}`)
                  .join(', ')}`
          }]`;
    log(
      `     ${c.kind === 'store' ? '*' : ' '} ${c.name.padEnd(46)} p50 ${fmt(c.p50).padStart(8)} ms  p99 ${fmt(c.p99).padStart(8)} ms  recall ${fmt(c.recall, 3)}  min rows ${c.minRows}${strategies}${c.error === undefined ? '' : `  ERROR ${c.error}`}`,
    );
  }
  for (const v of r.verdicts) {
    log(
      `     ${v.store}: baseline ${v.baseline ?? 'none'}${v.baselineReachesTarget ? '' : ' (best recall; none reached the target)'}; ${v.goals
        .map((g) => `${g.pass ? 'PASS' : 'MISS'} ${g.id} ${g.shown}`)
        .join('; ')}`,
    );
  }
}

/** `ALTER DATABASE … SET hnsw.ef_search = 10`, then a k = 50 search on fresh connections must return 50. */
async function benchKCap(url: string, client: pg.Client, t: ScaleTable, queries: readonly Vector[]) {
  const table = scaleTableName(t);
  const db = (await client.query<{ d: string }>('SELECT current_database() AS d')).rows[0]!.d;
  await client.query(`ALTER DATABASE "${db}" SET hnsw.ef_search = 10`);
  const app = prismaClient(url, 2);
  const hand = await pgClient(url);
  try {
    const store = createVectorStore(app.prisma, {
      table,
      dimensions: t.dims,
      partialIndexPredicates: [{ key: 's1', value: 'y' }],
      pool: app.pool,
    } as never);
    const session = (await hand.query<{ v: string }>("SELECT current_setting('hnsw.ef_search', true) AS v"))
      .rows[0]!.v;
    let storeMin = Number.POSITIVE_INFINITY;
    let storeFilteredMin = Number.POSITIVE_INFINITY;
    let sqlMin = Number.POSITIVE_INFINITY;
    for (const q of queries.slice(0, 20)) {
      const r = await store.search(q, { k: 50, select: [] } as never);
      storeMin = Math.min(storeMin, r.results.length);
      const f = await store.search(q, { k: 50, filter: { s10: 'y' }, select: [] } as never);
      storeFilteredMin = Math.min(storeFilteredMin, f.results.length);
      const { rows } = await hand.query(
        `SELECT id FROM "${table}" ORDER BY "embedding" <=> $1::vector LIMIT 50`,
        [vectorBinary(q)],
      );
      sqlMin = Math.min(sqlMin, rows.length);
    }
    const out = {
      table,
      sessionEfSearch: session,
      storeMinRows: storeMin,
      storeFilteredMinRows: storeFilteredMin,
      plainSqlMinRows: sqlMin,
      pass: storeMin === 50 && storeFilteredMin === 50,
    };
    log(
      `\n== k cap: database hnsw.ef_search = ${session}; store k 50 min rows ${storeMin} (filtered s10: ${storeFilteredMin}); plain SQL ${sqlMin} — ${out.pass ? 'PASS' : 'MISS'}`,
    );
    return out;
  } finally {
    await hand.end();
    await app.close();
    await client.query(`ALTER DATABASE "${db}" RESET hnsw.ef_search`);
  }
}

/**
 * A small table (2,000 rows, HNSW), a 20,000-row COPY in a transaction that rolls back, then searches at once
 * (no VACUUM; autovacuum off on the table): k = 10 must come back.
 */
async function benchRolledBack(url: string, client: pg.Client) {
  const table = 'scale_rollback_384';
  const dims = 384;
  await client.query(`DROP TABLE IF EXISTS "${table}"`);
  await client.query(scaleTableSql(table, dims));
  await client.query(`ALTER TABLE "${table}" SET (autovacuum_enabled = false)`);
  const rows = [...scaleRows(dims, 22_000)];
  const copySql = `COPY "${table}" ("id", "content", "metadata", "embedding", "created_at") FROM STDIN (FORMAT binary)`;
  await copyFrom(client, copySql, encodeScaleCopy(rows.slice(0, 2000)));
  await client.query(
    `CREATE INDEX ON "${table}" USING hnsw ("embedding" vector_cosine_ops) WITH (m = 16, ef_construction = 64)`,
  );
  await client.query(`CREATE INDEX ON "${table}" USING gin ("metadata" jsonb_path_ops)`);
  await client.query(`ANALYZE "${table}"`);
  await client.query('BEGIN');
  await copyFrom(client, copySql, encodeScaleCopy(rows.slice(2000)));
  await client.query('ROLLBACK');
  const app = prismaClient(url, 2);
  try {
    const store = createVectorStore(app.prisma, {
      table,
      dimensions: dims,
      partialIndexPredicates: [],
      pool: app.pool,
    } as never);
    const queries = new Mixture(mixtureOf(dims)).queries(20);
    let storeMin = Number.POSITIVE_INFINITY;
    let storeFilteredMin = Number.POSITIVE_INFINITY;
    let sqlMin = Number.POSITIVE_INFINITY;
    for (const q of queries) {
      storeMin = Math.min(storeMin, (await store.search(q, { k: 10, select: [] } as never)).results.length);
      storeFilteredMin = Math.min(
        storeFilteredMin,
        (await store.search(q, { k: 10, filter: { s10: 'y' }, select: [] } as never)).results.length,
      );
      const { rows: r } = await client.query(
        `SELECT id FROM "${table}" ORDER BY "embedding" <=> $1::vector LIMIT 10`,
        [vectorBinary(q)],
      );
      sqlMin = Math.min(sqlMin, r.length);
    }
    const out = {
      table,
      liveRows: 2000,
      rolledBackRows: 20_000,
      storeMinRows: storeMin,
      storeFilteredMinRows: storeFilteredMin,
      plainSqlMinRows: sqlMin,
      pass: storeMin === 10 && storeFilteredMin === 10,
    };
    log(
      `\n== rolled-back bulk load: store k 10 min rows ${storeMin} (filtered s10: ${storeFilteredMin}); plain SQL ${sqlMin} — ${out.pass ? 'PASS' : 'MISS'}`,
    );
    return out;
  } finally {
    await app.close();
    await client.query(`DROP TABLE IF EXISTS "${table}"`);
  }
}

/** The store's own bulk load (addMany, COPY through the pool) into an empty table: rows per second. */
async function benchAddMany(url: string, client: pg.Client, rows: number) {
  const table = 'scale_addmany_384';
  await client.query(`DROP TABLE IF EXISTS "${table}"`);
  await client.query(scaleTableSql(table, 384));
  const docs = [...scaleRows(384, rows)].map((r) => ({
    id: r.id,
    content: r.content,
    metadata: r.metadata,
    embedding: r.embedding,
  }));
  const app = prismaClient(url, 2);
  try {
    const store = createVectorStore(app.prisma, {
      table,
      dimensions: 384,
      partialIndexPredicates: [],
      pool: app.pool,
    } as never);
    const started = performance.now();
    const r = await store.addMany(docs as never, { returnIds: false });
    const seconds = (performance.now() - started) / 1000;
    const out = { rows, seconds, rowsPerSecond: rows / seconds, method: r.method, vacuumed: r.vacuumed };
    log(
      `\n== addMany: ${rows} × 384 in ${seconds.toFixed(1)} s (${Math.round(rows / seconds)} rows/s, ${r.method}, incl. VACUUM ANALYZE: ${r.vacuumed})`,
    );
    return out;
  } finally {
    await app.close();
    await client.query(`DROP TABLE IF EXISTS "${table}"`);
  }
}

/** Entry point (bench/run.ts calls it for `--scale`). */
export async function runScale(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== '--scale'),
    options: {
      quick: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      queries: { type: 'string' },
      'no-docs': { type: 'boolean', default: false },
      'skip-extras': { type: 'boolean', default: false },
      'truth-only': { type: 'boolean', default: false },
      merge: { type: 'boolean', default: false },
    },
  });
  const quick = values.quick === true;
  const tables =
    values.sizes !== undefined
      ? parseTables(values.sizes)
      : quick
        ? [
            { dims: 384, rows: 20_000 },
            { dims: 3072, rows: 5_000 },
          ]
        : [...FULL_TABLES].sort((a, b) => a.dims - b.dims || a.rows - b.rows);
  const nQueries = Number(values.queries ?? (quick ? 30 : 100));
  const full = !quick && values.sizes === undefined && nQueries >= 100;
  const started = performance.now();
  const server: NativeServer = quick ? await openThrowawayCluster(log) : await openScaleCluster(log);
  const client = await pgClient(server.url);
  await client.query('SET statement_timeout = 600000');
  const truthDir = new URL(`./results/scale-truth${quick ? '-quick' : ''}`, import.meta.url).pathname;
  mkdirSync(truthDir, { recursive: true });
  const notes: string[] = [];
  const out: Record<string, unknown> = {};
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS vector');
    const info = await runInfo(
      {
        url: server.url,
        kind: 'native',
        embedded: false,
        serverPid: undefined,
        collectGarbage: async () => {},
        close: async () => {},
      },
      client,
    );
    const settings = await client.query<{ name: string; setting: string; unit: string | null }>(
      `SELECT name, current_setting(name) AS setting, '' AS unit FROM pg_settings WHERE name IN ('shared_buffers','maintenance_work_mem','max_parallel_maintenance_workers','work_mem','effective_cache_size','jit','max_parallel_workers_per_gather','random_page_cost')`,
    );
    log(`prisma-pgvector scale bench (${quick ? 'quick' : full ? 'full' : 'partial'}) — ${info.date}`);
    log(
      `engine: ${info.engine.server.split(',')[0]}; pgvector ${info.engine.pgvector}; ${info.machine.cores} cores, ${info.machine.memoryGiB} GiB`,
    );
    log(
      `mixture: ${JSON.stringify(SCALE_MIXTURE)}; tables: ${tables.map(scaleTableName).join(', ')}; ${nQueries} queries per case`,
    );
    Object.assign(out, {
      info,
      settings: Object.fromEntries(settings.rows.map((r) => [r.name, `${r.setting}${r.unit ?? ''}`])),
      mixture: SCALE_MIXTURE,
      queries: nQueries,
      quick,
      full,
    });
    const tableResults: TableResult[] = [];
    // Small tables first within a dimension (the growth series), as the sizes were given otherwise.
    for (const t of tables) {
      tableResults.push(
        await benchTable(server, client, t, nQueries, truthDir, notes, values['truth-only'] === true),
      );
      out.tables = tableResults;
      saveResults(out, quick, full, true);
    }
    if (values['truth-only'] === true) return;
    if (values['skip-extras'] !== true) {
      const small = tables.filter((t) => t.dims === 384).sort((a, b) => a.rows - b.rows)[0];
      if (small !== undefined)
        out.kCap = await benchKCap(server.url, client, small, new Mixture(mixtureOf(384)).queries(20));
      out.rolledBack = await benchRolledBack(server.url, client);
      out.addMany = await benchAddMany(server.url, client, quick ? 5000 : 50_000);
    }
    out.notes = notes;
    out.seconds = (performance.now() - started) / 1000;
    const file = saveResults(out, quick, full, false);
    log(`\nresults: ${file}`);
    for (const n of notes) log(`note: ${n}`);
    if (full && values['no-docs'] !== true) {
      const written = renderScaleDocs(out as never);
      log(`docs: ${written.join(', ')}`);
    }
    if (!full && !quick && values.merge === true) {
      const merged = mergeIntoFull(tableResults);
      log(`merged ${tableResults.map((t) => t.table).join(', ')} into ${merged}`);
      if (values['no-docs'] !== true) log(`docs: ${renderScaleDocs(latestScaleRun() as never).join(', ')}`);
    }
  } finally {
    await client.end();
    if (quick) await server.destroy();
  }
  log(`scale bench done in ${((performance.now() - started) / 60000).toFixed(1)} min`);
}

/**
 * `--merge` (with `--sizes`): the tables just measured replace their entries in the newest full run's
 * results, which record when (`remeasured`), so that the docs show one table per size — e.g. after a change
 * that only moves one table's plans. The other tables keep their figures and their run's date.
 */
function mergeIntoFull(tables: readonly TableResult[]): string {
  const dir = new URL('./results/', import.meta.url).pathname;
  const latest = readdirSync(dir)
    .filter((n) => /^\d{4}-\d{2}-\d{2}-scale\.json$/.test(n))
    .sort()
    .at(-1);
  if (latest === undefined) throw new Error('--merge: no full scale run in bench/results/ to merge into');
  const run = JSON.parse(readFileSync(`${dir}${latest}`, 'utf8')) as {
    tables: TableResult[];
    remeasured?: { table: string; at: string }[];
  };
  const at = new Date().toISOString();
  for (const t of tables) {
    const i = run.tables.findIndex((x) => x.table === t.table);
    if (i >= 0) run.tables[i] = t;
    else run.tables.push(t);
    run.remeasured = [...(run.remeasured ?? []).filter((r) => r.table !== t.table), { table: t.table, at }];
  }
  writeFileSync(`${dir}${latest}`, `${JSON.stringify(run, null, 1)}\n`);
  return `bench/results/${latest}`;
}

function saveResults(out: Record<string, unknown>, quick: boolean, full: boolean, partial: boolean): string {
  const dir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  const name = `${date}-scale${quick ? '-quick' : full ? '' : '-partial'}.json${partial ? '.tmp' : ''}`;
  writeFileSync(`${dir}${name}`, `${JSON.stringify(out, null, 1)}\n`);
  return `bench/results/${name}`;
}
