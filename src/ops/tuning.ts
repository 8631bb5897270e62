/**
 * The ef_search tuner: measures recall@k and latency of the vector index against exact results for a
 * sample of queries, for each value of a ladder of `hnsw.ef_search` (or `ivfflat.probes` when the planner
 * uses an IVFFlat index), and recommends the smallest value that reaches the target recall.
 *
 * Method:
 * 1. Query vectors: sampled from the table (`ORDER BY random()` after `setseed`, so a run is repeatable) or
 *    given.
 * 2. Exact top-k per query in a transaction with index scans disabled (`SET LOCAL enable_indexscan = off`,
 *    bitmap and index-only scans too); EXPLAIN proves the plan reads the table without any index.
 * 3. For each ladder value and query, in a transaction of its own: `set_config('hnsw.ef_search', v, true)`
 *    (and, for a filtered query on pgvector ≥ 0.8, `hnsw.iterative_scan = relaxed_order`), then the same
 *    `ORDER BY col <op> $q LIMIT k` query, with `enable_seqscan` off so that the index is what is measured;
 *    EXPLAIN proves it uses the vector index, and a second EXPLAIN without the override tells whether the
 *    planner would choose the index on its own at that value. Nothing leaks into the session: every
 *    setting is transaction-local.
 * 4. recall@k = the share of the exact top-k the index returned (a row at the same distance as the k-th
 *    exact row counts: ties are not misses), averaged over the queries; latency p50/p95 of the query alone.
 *
 * Works through plain `pg` against any PostgreSQL with pgvector.
 */

import type pg from 'pg';
import { PgVectorError } from '../core/errors.js';
import { type Metric, operatorFor, parseMetric } from '../core/metric.js';
import { encodeVectorText } from '../core/vector.js';
import { quoteIdentifier } from '../indexes/index-spec.js';
import { type DatabaseTarget, withClient } from './checks/connection.js';

/** The ef_search values tried by default (pgvector accepts 1..1000). */
export const DEFAULT_EF_SEARCH_LADDER: readonly number[] = [10, 20, 40, 80, 160, 320, 640, 1000];
/** The probes values tried by default (values above the index's lists are dropped). */
export const DEFAULT_PROBES_LADDER: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** Where {@link tune} persists the recommendation: `ALTER DATABASE … SET` or `ALTER ROLE CURRENT_USER SET`. */
export type PersistScope = 'database' | 'role';

/** Options of {@link tune}. */
export interface TuneOptions {
  /** Table, `name` or `schema.name`. */
  readonly table: string;
  /** Vector column. Default `embedding`. */
  readonly column?: string | undefined;
  /** Metric the application searches with (its operator is used). Default `cosine`. */
  readonly metric?: Metric | undefined;
  /** Rows per query (LIMIT). Default 10. */
  readonly k?: number | undefined;
  /** Query vectors sampled from the table when `queries` is not given. Default 50. */
  readonly sample?: number | undefined;
  /** Query vectors to use instead of sampling (dense vectors). */
  readonly queries?: readonly (readonly number[])[] | undefined;
  /** Seed for the sample, in [-1, 1] (`setseed`). Default 0.42. */
  readonly seed?: number | undefined;
  /**
   * RAW SQL predicate applied to both the exact and the approximate queries, e.g.
   * `metadata->>'type' = 'article'`. From configuration only, NEVER from user input (SQL injection).
   */
  readonly filter?: string | undefined;
  /** ef_search values to try, ascending. Default {@link DEFAULT_EF_SEARCH_LADDER}. */
  readonly efSearchLadder?: readonly number[] | undefined;
  /** probes values to try for IVFFlat, ascending. Default {@link DEFAULT_PROBES_LADDER}. */
  readonly probesLadder?: readonly number[] | undefined;
  /** Recall@k to reach, in (0, 1]. Default 0.95. */
  readonly target?: number | undefined;
  /** Persist the recommendation for the database or the current role. Default: do not. */
  readonly persist?: PersistScope | undefined;
}

/** The measurements for one ladder value. */
export interface TuneStep {
  readonly value: number;
  /** Mean recall@k over the queries, in [0, 1]. */
  readonly recall: number;
  /** Median latency of the query, in milliseconds. */
  readonly p50Ms: number;
  /** 95th percentile latency, in milliseconds. */
  readonly p95Ms: number;
  /**
   * Whether the planner picks the vector index on its own at this value. Steps are always measured on the
   * index (`enable_seqscan` off in the transaction); on a small table a large ef_search makes the index look
   * as costly as a sequential scan, and the planner then scans the table exactly instead.
   */
  readonly plannerUsesIndex: boolean;
}

/** What {@link tune} measured and recommends. */
export interface TuneResult {
  /** `schema.table`. */
  readonly table: string;
  readonly column: string;
  readonly metric: Metric;
  readonly k: number;
  readonly target: number;
  readonly filter: string | undefined;
  /** The vector index the planner used. */
  readonly index: string;
  readonly method: 'hnsw' | 'ivfflat';
  /** The setting tuned. */
  readonly setting: 'hnsw.ef_search' | 'ivfflat.probes';
  /** Iterative scan used for a filtered query (pgvector ≥ 0.8), if any. */
  readonly iterativeScan: 'relaxed_order' | undefined;
  readonly pgvectorVersion: string;
  /** Queries measured (those with at least one exact result). */
  readonly queries: number;
  /** Plan node types of the exact query (proof it is a sequential scan) and of the approximate one. */
  readonly plans: { readonly exact: readonly string[]; readonly approximate: readonly string[] };
  readonly steps: readonly TuneStep[];
  /** The smallest ladder value whose recall reaches the target; `undefined` when none does. */
  readonly recommended: number | undefined;
  /** The statement run when `persist` was asked and a value was recommended. */
  readonly persisted: { readonly scope: PersistScope; readonly sql: string } | undefined;
}

function invalid(message: string): PgVectorError {
  return new PgVectorError('INVALID_ARGUMENT', message);
}

function integerIn(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function ladder(values: readonly number[], name: string, max: number): number[] {
  if (!Array.isArray(values) || values.length === 0) throw invalid(`${name} must be a non-empty list`);
  const checked = values.map((v) => integerIn(v, `${name} values`, 1, max));
  return [...new Set(checked)].sort((a, b) => a - b);
}

/**
 * The recommendation rule: the smallest value (steps in ascending order) whose recall reaches the target.
 *
 * ### Examples
 * ```ts
 * recommendValue([{ value: 10, recall: 0.8 }, { value: 20, recall: 0.96 }, { value: 40, recall: 0.99 }], 0.95); // 20
 * recommendValue([{ value: 10, recall: 0.8 }], 0.95); // undefined
 * ```
 */
export function recommendValue(
  steps: readonly Pick<TuneStep, 'value' | 'recall'>[],
  target: number,
): number | undefined {
  return [...steps].sort((a, b) => a.value - b.value).find((s) => s.recall >= target)?.value;
}

/** The p-th percentile (nearest rank) of some numbers. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

interface Hit {
  readonly id: string;
  readonly d: number;
}

/**
 * recall@k of one approximate result against the exact one: the share of the exact rows found, where a
 * returned row at a distance no greater than the k-th exact distance counts (ties are not misses).
 */
export function recallAtK(exact: readonly Hit[], approximate: readonly Hit[]): number {
  if (exact.length === 0) return 1;
  const kth = exact[exact.length - 1]!.d;
  const ids = new Set(exact.map((h) => h.id));
  const found = approximate.filter((h) => ids.has(h.id) || h.d <= kth).length;
  return Math.min(found, exact.length) / exact.length;
}

interface PlanNode {
  'Node Type'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function planNodes(node: PlanNode, out: PlanNode[] = []): PlanNode[] {
  out.push(node);
  for (const child of node.Plans ?? []) planNodes(child, out);
  return out;
}

function describeNodes(nodes: readonly PlanNode[]): string[] {
  return nodes.map((n) =>
    n['Index Name'] ? `${n['Node Type']} using ${n['Index Name']}` : `${n['Node Type']}`,
  );
}

async function explain(client: pg.ClientBase, text: string, values: unknown[]): Promise<PlanNode[]> {
  const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
    `EXPLAIN (FORMAT JSON) ${text}`,
    values,
  );
  const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
  if (plan === undefined) throw new Error('EXPLAIN returned no plan');
  return planNodes(plan);
}

function parseTable(table: string): { schema: string | undefined; name: string; sql: string } {
  const parts = table.split('.');
  if (parts.length > 2 || parts.some((p) => p === ''))
    throw invalid(`table must be "name" or "schema.name", got "${table}"`);
  const [a, b] = parts as [string, string | undefined];
  return b === undefined
    ? { schema: undefined, name: a, sql: quoteIdentifier(a, 'table') }
    : { schema: a, name: b, sql: `${quoteIdentifier(a, 'schema')}.${quoteIdentifier(b, 'table')}` };
}

/**
 * Tunes `hnsw.ef_search` (or `ivfflat.probes`) for recall: see the module comment for the method.
 * Throws `EXTENSION_MISSING` without pgvector, `INVALID_ARGUMENT` for a bad option or an unknown column, and
 * `INDEX_NOT_USED` when no vector index serves the query.
 *
 * `target` is a connected `pg` client (not inside a transaction: each query runs in its own) or a URL.
 *
 * ### Examples
 * ```ts
 * const result = await tune(process.env.DATABASE_URL!, { table: 'documents', k: 10, target: 0.95, persist: 'database' });
 * result.recommended; // e.g. 80
 * ```
 *
 * The SQL per query and ladder value (PostgreSQL):
 * ```sql
 * BEGIN; SELECT set_config('hnsw.ef_search', '80', true);
 * SELECT ctid::text AS id, ("embedding" <=> $1::vector(1536))::float8 AS d FROM "documents"
 *   ORDER BY "embedding" <=> $1::vector(1536) LIMIT 10;
 * COMMIT;
 * -- with persist: 'database'
 * ALTER DATABASE "app" SET hnsw.ef_search = 80;
 * ```
 */
export async function tune(target: DatabaseTarget, options: TuneOptions): Promise<TuneResult> {
  if (typeof options?.table !== 'string') throw invalid('table is required');
  const table = parseTable(options.table);
  const columnName = options.column ?? 'embedding';
  const column = quoteIdentifier(columnName, 'column');
  const metric = parseMetric(options.metric ?? 'cosine');
  const k = integerIn(options.k ?? 10, 'k', 1, 1000);
  const sample = integerIn(options.sample ?? 50, 'sample', 1, 100_000);
  const seed = options.seed ?? 0.42;
  if (typeof seed !== 'number' || !(seed >= -1 && seed <= 1))
    throw invalid(`seed must be in [-1, 1], got ${seed}`);
  const recallTarget = options.target ?? 0.95;
  if (typeof recallTarget !== 'number' || !(recallTarget > 0 && recallTarget <= 1)) {
    throw invalid(`target must be a recall in (0, 1], got ${String(recallTarget)}`);
  }
  const efLadder = ladder(options.efSearchLadder ?? DEFAULT_EF_SEARCH_LADDER, 'efSearchLadder', 1000);
  const probesLadder = ladder(options.probesLadder ?? DEFAULT_PROBES_LADDER, 'probesLadder', 32_768);
  if (options.persist !== undefined && options.persist !== 'database' && options.persist !== 'role') {
    throw invalid(`persist must be 'database' or 'role', got ${String(options.persist)}`);
  }
  const filter = options.filter?.trim() || undefined;
  const op = operatorFor(metric);

  return withClient(target, async (client) => {
    const ext = await client.query<{ v: string }>(
      `SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'`,
    );
    const pgvectorVersion = ext.rows[0]?.v;
    if (pgvectorVersion === undefined) {
      throw new PgVectorError('EXTENSION_MISSING', 'pgvector is not installed in this database', {
        fix: 'run `prisma-pgvector doctor` for the install steps',
      });
    }
    const col = await client.query<{ type: string; ns: string; rel: string }>(
      `SELECT format_type(a.atttypid, a.atttypmod) AS "type", n.nspname AS "ns", c.relname AS "rel"
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped`,
      [table.sql, columnName],
    );
    const colRow = col.rows[0];
    if (colRow === undefined) throw invalid(`column ${options.table}.${columnName} not found`);
    const type = colRow.type;
    const param = `$1::${type}`;
    const where = filter === undefined ? '' : ` WHERE (${filter})`;
    const annSql = `SELECT ctid::text AS id, (${column} ${op} ${param})::float8 AS d FROM ${table.sql}${where} ORDER BY ${column} ${op} ${param} LIMIT ${k}`;
    const exactSql = `SELECT ctid::text AS id, (${column} ${op} ${param})::float8 AS d FROM ${table.sql} WHERE ${column} IS NOT NULL${filter === undefined ? '' : ` AND (${filter})`} ORDER BY ${column} ${op} ${param} LIMIT ${k}`;

    // 1. Query vectors.
    let queries: string[];
    if (options.queries !== undefined) {
      if (options.queries.length === 0) throw invalid('queries must not be empty');
      queries = options.queries.map((q) => encodeVectorText(q));
    } else {
      await client.query('BEGIN');
      try {
        await client.query('SELECT setseed($1)', [seed]);
        const { rows } = await client.query<{ v: string }>(
          `SELECT ${column}::text AS v FROM ${table.sql} WHERE ${column} IS NOT NULL ORDER BY random() LIMIT ${sample}`,
        );
        queries = rows.map((r) => r.v);
      } finally {
        await client.query('COMMIT');
      }
      if (queries.length === 0) throw invalid(`${options.table}.${columnName} has no vectors to sample`);
    }

    // 2. Exact results, index scans off; the plan must not touch an index.
    const exact: Hit[][] = [];
    let exactPlan: string[] = [];
    for (const [i, q] of queries.entries()) {
      await client.query(
        'BEGIN; SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off; SET LOCAL enable_bitmapscan = off',
      );
      try {
        if (i === 0) {
          const nodes = await explain(client, exactSql, [q]);
          exactPlan = describeNodes(nodes);
          if (nodes.some((n) => n['Index Name'] !== undefined || /Index|Bitmap/.test(n['Node Type'] ?? ''))) {
            throw new Error(`the exact query still uses an index: ${exactPlan.join(' > ')}`);
          }
        }
        exact.push((await client.query<Hit>(exactSql, [q])).rows);
      } finally {
        await client.query('COMMIT');
      }
    }

    // 3. Which index serves the approximate query (and so which setting to tune).
    const iterativeScan =
      filter !== undefined && versionAtLeast(pgvectorVersion, '0.8.0')
        ? ('relaxed_order' as const)
        : undefined;
    // The vector index is forced (enable_seqscan off) so that every step measures the index; whether the
    // planner would choose it on its own at that value is reported per step (on a small table it may not).
    const setup = (name: string, value: number, method: 'hnsw' | 'ivfflat', force = true) => {
      const parts = [`set_config('${name}', '${value}', true)`];
      if (iterativeScan !== undefined)
        parts.push(`set_config('${method}.iterative_scan', '${iterativeScan}', true)`);
      if (force) parts.push(`set_config('enable_seqscan', 'off', true)`);
      return `BEGIN; SELECT ${parts.join(', ')}`;
    };
    await client.query(setup('hnsw.ef_search', efLadder[0]!, 'hnsw'));
    let annNodes: PlanNode[];
    try {
      annNodes = await explain(client, annSql, [queries[0]]);
    } finally {
      await client.query('COMMIT');
    }
    const indexNames = annNodes.map((n) => n['Index Name']).filter((n): n is string => n !== undefined);
    const indexes = await client.query<{ name: string; method: string; lists: string | null }>(
      `SELECT c.relname AS "name", am.amname AS "method",
         (SELECT substr(o, 7) FROM unnest(c.reloptions) o WHERE o LIKE 'lists=%') AS "lists"
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
       WHERE i.indrelid = to_regclass($1) AND c.relname = ANY ($2::text[]) AND am.amname IN ('hnsw', 'ivfflat')`,
      [table.sql, indexNames],
    );
    const used = indexes.rows[0];
    if (used === undefined) {
      throw new PgVectorError(
        'INDEX_NOT_USED',
        `no vector index serves ORDER BY ${columnName} ${op} $q LIMIT ${k} on ${options.table}${filter ? ` WHERE ${filter}` : ''} (plan: ${describeNodes(annNodes).join(' > ')})`,
        {
          fix: `run \`prisma-pgvector doctor --metric ${metric}\`: create an index with the ${metric} operator class, and ANALYZE the table`,
        },
      );
    }
    const method = used.method as 'hnsw' | 'ivfflat';
    const setting = method === 'hnsw' ? 'hnsw.ef_search' : 'ivfflat.probes';
    const lists = Number(used.lists ?? 100);
    const values = method === 'hnsw' ? efLadder : probesLadder.filter((p) => p <= lists);
    if (values.length === 0) throw invalid(`probesLadder has no value ≤ the index's lists (${lists})`);
    if (method === 'ivfflat' && !values.includes(lists) && probesLadder.some((p) => p > lists))
      values.push(lists);

    // 4. Measure each ladder value.
    const measured = exact.map((e, i) => ({ q: queries[i]!, e })).filter((m) => m.e.length > 0);
    if (measured.length === 0)
      throw invalid(`no query has any exact result${filter ? ` with the filter ${filter}` : ''}`);
    // Warm-up: load the index pages once, untimed.
    await client.query(setup(setting, values[values.length - 1]!, method));
    try {
      for (const m of measured.slice(0, 5)) await client.query(annSql, [m.q]);
    } finally {
      await client.query('COMMIT');
    }
    const steps: TuneStep[] = [];
    for (const value of values) {
      await client.query(setup(setting, value, method, false));
      let chosen: PlanNode[];
      try {
        chosen = await explain(client, annSql, [measured[0]!.q]);
      } finally {
        await client.query('COMMIT');
      }
      const plannerUsesIndex = chosen.some((n) => n['Index Name'] === used.name);
      const recalls: number[] = [];
      const times: number[] = [];
      for (const m of measured) {
        await client.query(setup(setting, value, method));
        try {
          const start = performance.now();
          const { rows } = await client.query<Hit>(annSql, [m.q]);
          times.push(performance.now() - start);
          recalls.push(recallAtK(m.e, rows));
        } finally {
          await client.query('COMMIT');
        }
      }
      steps.push({
        value,
        recall: recalls.reduce((s, r) => s + r, 0) / recalls.length,
        p50Ms: percentile(times, 50),
        p95Ms: percentile(times, 95),
        plannerUsesIndex,
      });
    }
    const recommended = recommendValue(steps, recallTarget);

    // 5. Persist.
    let persisted: TuneResult['persisted'];
    if (options.persist !== undefined && recommended !== undefined) {
      let sql: string;
      if (options.persist === 'database') {
        const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
        sql = `ALTER DATABASE ${quoteIdentifier(rows[0]!.db, 'database')} SET ${setting} = ${recommended}`;
      } else {
        sql = `ALTER ROLE CURRENT_USER SET ${setting} = ${recommended}`;
      }
      await client.query(sql);
      persisted = { scope: options.persist, sql };
    }

    return {
      table: `${colRow.ns}.${colRow.rel}`,
      column: columnName,
      metric,
      k,
      target: recallTarget,
      filter,
      index: used.name,
      method,
      setting,
      iterativeScan,
      pgvectorVersion,
      queries: measured.length,
      plans: { exact: exactPlan, approximate: describeNodes(annNodes) },
      steps,
      recommended,
      persisted,
    };
  });
}

function versionAtLeast(version: string, wanted: string): boolean {
  const a = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const b = wanted.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/**
 * The tuner's result as a table for people: one row per ladder value (value, recall, p50, p95), then the
 * recommendation (and what was persisted).
 *
 * ### Examples
 * ```ts
 * console.log(formatTuneResult(await tune(url, { table: 'documents' })));
 * // ef_search  recall  p50 ms  p95 ms
 * //        10   0.712    0.41    0.80
 * // …
 * // Recommended: hnsw.ef_search = 80 (recall 0.962 ≥ 0.95)
 * ```
 */
export function formatTuneResult(result: TuneResult): string {
  const name = result.method === 'hnsw' ? 'ef_search' : 'probes';
  const lines = [
    `Tuning ${result.setting} for ${result.table}.${result.column} (index ${result.index}, ${result.metric}, k = ${result.k}, ${result.queries} queries${result.filter ? `, WHERE ${result.filter}` : ''}${result.iterativeScan ? `, iterative scan ${result.iterativeScan}` : ''})`,
    `Exact plan: ${result.plans.exact.join(' > ')}; approximate plan: ${result.plans.approximate.join(' > ')}`,
    '',
    `${name.padStart(9)}  recall  p50 ms  p95 ms`,
    ...result.steps.map(
      (s) =>
        `${String(s.value).padStart(9)}  ${s.recall.toFixed(3).padStart(6)}  ${s.p50Ms.toFixed(2).padStart(6)}  ${s.p95Ms.toFixed(2).padStart(6)}${s.plannerUsesIndex ? '' : '  (planner prefers a seq scan here)'}${s.value === result.recommended ? '  <- recommended' : ''}`,
    ),
    '',
  ];
  if (result.recommended === undefined) {
    const best = Math.max(...result.steps.map((s) => s.recall));
    lines.push(
      `No ${name} value reached recall ${result.target} (best ${best.toFixed(3)}): rebuild the index with larger m / ef_construction (or more lists), or lower the target.`,
    );
  } else {
    const step = result.steps.find((s) => s.value === result.recommended)!;
    lines.push(
      `Recommended: ${result.setting} = ${result.recommended} (recall ${step.recall.toFixed(3)} ≥ ${result.target})`,
    );
    lines.push(
      result.persisted === undefined
        ? `Persist it: ALTER DATABASE <db> SET ${result.setting} = ${result.recommended}  (or --persist database|role), or set it per query (SET LOCAL / set_config(…, true)).`
        : `Persisted: ${result.persisted.sql} (new connections get it)`,
    );
  }
  return lines.join('\n');
}
