/**
 * Building vector indexes well: session settings sized for the build and scoped to it, `CONCURRENTLY` run
 * outside a transaction, progress read on a second connection, the IVFFlat training guard, and invalid
 * indexes left by failed concurrent builds found and explained.
 *
 * These tools use `pg` (node-postgres) connections, not Prisma: they need session control (`SET`,
 * statements outside a transaction, a second session for progress). Each takes a connection string (we
 * open and close our own connections; a Prisma-style `?schema=` is honoured) or a connected `pg.Client`
 * (yours: we leave it connected, and in the state we found it).
 */

import pg from 'pg';
import { PgVectorError } from '../core/errors.js';
import type { VectorType } from '../core/metric.js';
import { searchPathOption } from '../ops/checks/connection.js';
import {
  checkIvfflatTraining,
  estimateHnswBuildBytes,
  estimateIvfflatBuildBytes,
  type IvfflatTrainingCheck,
} from './advisor.js';
import {
  dropIndexDdl,
  type IndexSpec,
  indexDdl,
  qualifiedTable,
  quoteIdentifier,
  type ResolvedIndexSpec,
  resolveIndexSpec,
} from './index-spec.js';

/** A database to work on: a connection string, or a connected `pg.Client`. */
export type PgTarget = string | pg.Client;

/**
 * Opens a `pg.Client` for a connection string. Prisma's `?schema=name` (which `pg` ignores) becomes the
 * session's `search_path`, so that unqualified names resolve as they do for Prisma.
 *
 * ### Examples
 * ```ts
 * const client = await connectPg(process.env.DATABASE_URL!);
 * try { … } finally { await client.end(); }
 * ```
 */
export async function connectPg(url: string): Promise<pg.Client> {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  const client = new pg.Client({
    connectionString: u.toString(),
    ...(schema ? { options: searchPathOption(schema) } : {}),
  });
  await client.connect();
  return client;
}

/** Runs `fn` with a client for `target`: ours (closed afterwards) for a string, the caller's otherwise. */
export async function withPgClient<T>(target: PgTarget, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  if (typeof target !== 'string') return fn(target);
  const client = await connectPg(target);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** One progress report of a build. */
export type BuildProgress =
  | {
      readonly available: true;
      /** `pg_stat_progress_create_index.phase`, e.g. `building index: loading tuples`. */
      readonly phase: string;
      readonly blocksDone: number;
      readonly blocksTotal: number;
      readonly tuplesDone: number;
      readonly tuplesTotal: number;
      /** tuples (else blocks) done / total, 0..100, when a total is known. */
      readonly percent: number | undefined;
      /** Parallel workers in the build at this sample (`pg_stat_activity.leader_pid` = the build's pid). */
      readonly workers: number;
    }
  | { readonly available: false; readonly reason: string };

export interface BuildIndexOptions {
  /** Called with each progress sample (or once with `available: false` when progress cannot be read). */
  readonly onProgress?: ((progress: BuildProgress) => void) | undefined;
  /**
   * `maintenance_work_mem` for this build: bytes, a PostgreSQL memory string (`'2GB'`), or `'auto'`
   * (default): the estimated graph size (`estimateHnswBuildBytes` / `estimateIvfflatBuildBytes`) + 10 %,
   * at most `maxMaintenanceWorkMem`, never below the server's current value.
   */
  readonly maintenanceWorkMem?: number | string | undefined;
  /** Upper bound for `'auto'`, in bytes. Default 1 GiB: size it to the server's free memory. */
  readonly maxMaintenanceWorkMem?: number | undefined;
  /** `max_parallel_maintenance_workers` for this build; default: the server's setting. */
  readonly parallelWorkers?: number | undefined;
  /** Build IVFFlat even when the training guard refuses (too few rows per list). */
  readonly force?: boolean | undefined;
  /** Rows to size the build for; default: counted (IVFFlat) or `pg_class.reltuples` (HNSW). */
  readonly rows?: number | undefined;
  /** Second connection for progress when `target` is a `pg.Client` (with a string we open one). */
  readonly progressConnection?: PgTarget | undefined;
  /** Progress poll interval, ms. Default 1000. */
  readonly pollIntervalMs?: number | undefined;
  /** A poll that takes longer than this (ms) ends progress reporting. Default 5000. */
  readonly pollTimeoutMs?: number | undefined;
}

export interface BuildIndexResult {
  readonly name: string;
  /** The CREATE INDEX statement that ran. */
  readonly ddl: string;
  /** Every statement sent for the build, in order (settings, DDL, reset). */
  readonly statements: readonly string[];
  readonly durationMs: number;
  /** The row count the settings were sized for. */
  readonly rows: number;
  /** Estimated build memory (bytes). */
  readonly estimatedBytes: number;
  /** The settings applied for the build only (undefined: left as they were). */
  readonly settings: { readonly maintenanceWorkMem?: string; readonly parallelWorkers?: number };
  /** `reported` (samples were read), `none` (no onProgress), or why progress was unavailable. */
  readonly progress: string;
  /** NOTICEs the server sent during the build (e.g. "hnsw graph no longer fits into maintenance_work_mem"). */
  readonly notices: readonly string[];
  readonly warnings: readonly string[];
  /** The IVFFlat training check, for IVFFlat builds. */
  readonly training?: IvfflatTrainingCheck;
  /**
   * Most parallel workers seen in the build (`pg_stat_activity` rows with `backend_type = 'parallel
   * worker'` led by the build's backend), from the progress samples; `undefined` when progress was not read.
   */
  readonly parallelWorkersSeen?: number;
}

const MB = 1024 * 1024;
const DEFAULT_MAX_MWM = 1024 * MB;
/**
 * PostgreSQL plans a parallel index build only while each participant (workers + the leader) gets at
 * least 32 MB of `maintenance_work_mem` (`plan_create_index_workers`). pgvector (≥ 0.6) asks it whether
 * any worker may be used and then launches `max_parallel_maintenance_workers` of them into ONE graph in
 * shared memory (measured on 0.8.0: PostgreSQL planned 1, pgvector launched 2): so a build gets workers
 * from 64 MB on, and more memory does not buy more workers.
 */
const MWM_FOR_WORKERS = 64 * MB;

function toMemorySetting(value: number | string): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < MB) {
      throw new PgVectorError('INVALID_ARGUMENT', `maintenanceWorkMem must be at least 1 MiB, got ${value}`);
    }
    return `${Math.ceil(value / MB)}MB`;
  }
  const text = value.trim();
  if (!/^\d+\s*(kB|MB|GB|TB)?$/.test(text)) {
    throw new PgVectorError(
      'INVALID_ARGUMENT',
      `maintenanceWorkMem must be bytes or a PostgreSQL memory value like '512MB' or '2GB', got '${value}'`,
    );
  }
  return text.replace(/\s+/g, '');
}

function countSql(spec: ResolvedIndexSpec, limit?: number): string {
  const where = `${quoteIdentifier(spec.column)} IS NOT NULL${spec.where === undefined ? '' : ` AND (${spec.where})`}`;
  const from = qualifiedTable(spec.table, spec.schema);
  return limit === undefined
    ? `SELECT count(*)::bigint AS n FROM ${from} WHERE ${where}`
    : `SELECT count(*)::bigint AS n FROM (SELECT 1 FROM ${from} WHERE ${where} LIMIT ${limit}) s`;
}

async function reltuples(client: pg.Client, spec: ResolvedIndexSpec): Promise<number | undefined> {
  const { rows } = await client.query<{ n: number | null }>(
    'SELECT c.reltuples::float8 AS n FROM pg_class c WHERE c.oid = to_regclass($1)',
    [qualifiedTable(spec.table, spec.schema)],
  );
  const n = rows[0]?.n;
  return n === undefined || n === null || n < 0 ? undefined : Math.round(n);
}

interface ServerError {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
}

function serverFields(error: unknown) {
  const e = (error ?? {}) as ServerError;
  return { sqlState: e.code, detail: e.detail, hint: e.hint, serverMessage: e.message };
}

/**
 * Builds a vector index from a spec, well:
 *
 * 1. checks the spec ({@link resolveIndexSpec}) and, for IVFFlat, the training guard
 *    (`checkIvfflatTraining`: ≥ 50 non-NULL rows per list, counted with a bounded `count(*)`; `force`
 *    overrides);
 * 2. sizes `maintenance_work_mem` to the graph (see `estimateHnswBuildBytes`) and sets
 *    `max_parallel_maintenance_workers` when asked — for THIS build only: `SET LOCAL` inside a transaction
 *    for a normal build; for `concurrently` (which cannot run inside a transaction) `SET` on the build's
 *    connection, then `RESET` afterwards, failure or not. Give a concurrent build a dedicated connection
 *    (a connection string, or a client nobody else uses meanwhile): a pooled client would lend the
 *    settings to others until the RESET;
 * 3. reports progress from `pg_stat_progress_create_index`, polled on a SECOND connection. When both
 *    connections report the same `pg_backend_pid()` (the embedded PGlite server runs every connection in
 *    one session, so the poll would only run after the build), or a poll does not answer within
 *    `pollTimeoutMs`, progress is reported as unavailable instead of waiting;
 * 4. when a concurrent build fails, looks for the INVALID index it leaves behind and throws
 *    `INDEX_BUILD_FAILED` naming it with the fix (`DROP INDEX CONCURRENTLY …`, then build again).
 *
 * ### Examples
 * ```ts
 * const result = await buildIndex(process.env.DATABASE_URL!, {
 *   table: 'documents', column: 'embedding', method: 'hnsw', type: 'vector', dimensions: 1536,
 *   metric: 'cosine', concurrently: true,
 * }, { parallelWorkers: 4, onProgress: (p) => p.available && console.log(p.phase, p.percent) });
 * ```
 *
 * The SQL it runs (PostgreSQL), normal build:
 * ```sql
 * SELECT c.reltuples::float8 AS n FROM pg_class c WHERE c.oid = to_regclass($1)
 * BEGIN
 * SET LOCAL maintenance_work_mem = '760MB'
 * SET LOCAL max_parallel_maintenance_workers = 4
 * CREATE INDEX "documents_embedding_hnsw_idx" ON "documents" USING hnsw ("embedding" vector_cosine_ops) WITH (m = 16, ef_construction = 64)
 * COMMIT
 * ```
 * concurrent build: `SET maintenance_work_mem = '760MB'`, `CREATE INDEX CONCURRENTLY …`, `RESET maintenance_work_mem`.
 * progress (second connection): `SELECT phase, blocks_done, … FROM pg_stat_progress_create_index WHERE pid = $1`.
 */
export async function buildIndex(
  target: PgTarget,
  spec: IndexSpec,
  options: BuildIndexOptions = {},
): Promise<BuildIndexResult> {
  const r = resolveIndexSpec(spec);
  const ddl = indexDdl(r);
  return withPgClient(target, async (client) => {
    const warnings: string[] = [];
    const statements: string[] = [];

    // 1. rows and the training guard
    let training: IvfflatTrainingCheck | undefined;
    let rows: number;
    if (r.method === 'ivfflat') {
      const lists = r.params.lists ?? 100;
      const needed = lists * 50;
      rows = options.rows ?? Number((await client.query<{ n: string }>(countSql(r, needed))).rows[0]?.n ?? 0);
      training = checkIvfflatTraining({ rows, lists, force: options.force });
      if (!training.ok) warnings.push(`forced: ${training.message}`);
    } else {
      rows =
        options.rows ??
        (await reltuples(client, r)) ??
        Number((await client.query<{ n: string }>(countSql(r))).rows[0]?.n ?? 0);
    }

    // 2. settings for this build
    const estimatedBytes =
      r.method === 'hnsw'
        ? estimateHnswBuildBytes({ rows, dimensions: r.dimensions, m: r.params.m, type: r.indexedType })
        : estimateIvfflatBuildBytes({
            rows,
            dimensions: r.dimensions,
            lists: r.params.lists ?? 100,
            type: r.indexedType,
          });
    const workers = options.parallelWorkers;
    if (workers !== undefined && (!Number.isInteger(workers) || workers < 0 || workers > 1024)) {
      throw new PgVectorError(
        'INVALID_ARGUMENT',
        `parallelWorkers must be an integer from 0 to 1024, got ${workers}`,
      );
    }
    let mwm: string | undefined;
    const requested = options.maintenanceWorkMem ?? 'auto';
    if (requested === 'auto') {
      const cap = options.maxMaintenanceWorkMem ?? DEFAULT_MAX_MWM;
      // Below 64 MB PostgreSQL plans no worker, and pgvector then quietly builds alone.
      const forWorkers = workers === undefined || workers === 0 ? 0 : MWM_FOR_WORKERS;
      const wanted = Math.max(Math.ceil((estimatedBytes * 1.1) / MB) * MB, forWorkers);
      const { rows: cur } = await client.query<{ bytes: string }>(
        "SELECT (setting::bigint * 1024)::text AS bytes FROM pg_settings WHERE name = 'maintenance_work_mem'",
      );
      const current = Number(cur[0]?.bytes ?? 0);
      const target = Math.min(wanted, cap);
      if (target > current) mwm = toMemorySetting(target);
      if (wanted > cap) {
        warnings.push(
          `the build needs about ${Math.ceil(wanted / MB)} MB of maintenance_work_mem, capped at ${Math.ceil(cap / MB)} MB: the graph will not fit and the build slows down after that point; raise maxMaintenanceWorkMem if the server has the memory`,
        );
      }
    } else {
      mwm = toMemorySetting(requested);
      if (workers !== undefined && workers > 0 && memoryBytes(mwm) < MWM_FOR_WORKERS) {
        warnings.push(
          `maintenance_work_mem ${mwm} is below 64MB: PostgreSQL plans no parallel worker for it (32 MB per participant, the leader included), so the ${workers} workers asked for will not run and the index builds on one core; give 64MB or more`,
        );
      }
    }
    const tooSmall = workers !== undefined && workers > 0 ? await tooSmallForWorkers(client, r) : undefined;
    if (tooSmall !== undefined) warnings.push(tooSmall);
    const settings: { maintenanceWorkMem?: string; parallelWorkers?: number } = {};
    if (mwm !== undefined) settings.maintenanceWorkMem = mwm;
    if (workers !== undefined) settings.parallelWorkers = workers;
    const setStatements = (local: boolean) => [
      ...(mwm === undefined ? [] : [`SET${local ? ' LOCAL' : ''} maintenance_work_mem = '${mwm}'`]),
      ...(workers === undefined
        ? []
        : [`SET${local ? ' LOCAL' : ''} max_parallel_maintenance_workers = ${workers}`]),
    ];

    // 3. progress on a second connection
    const notices: string[] = [];
    const onNotice = (n: { message?: string }) => {
      if (n.message) notices.push(n.message);
    };
    client.on('notice', onNotice);
    const progress = await startProgress(client, target, options);

    const run = async (sql: string) => {
      statements.push(sql);
      await client.query(sql);
    };
    const started = performance.now();
    try {
      if (!r.concurrently) {
        await run('BEGIN');
        try {
          for (const s of setStatements(true)) await run(s);
          await run(ddl);
          await run('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        }
      } else {
        try {
          for (const s of setStatements(false)) await run(s);
          await run(ddl);
        } finally {
          // RESET even when the build failed: the connection may go back to a pool.
          if (mwm !== undefined) await run('RESET maintenance_work_mem').catch(() => {});
          if (workers !== undefined) await run('RESET max_parallel_maintenance_workers').catch(() => {});
        }
      }
    } catch (error) {
      throw await buildError(client, r, error);
    } finally {
      client.off('notice', onNotice);
      await progress.stop();
    }
    const seen = progress.workersSeen();
    const explained = tooSmall !== undefined || warnings.some((w) => w.includes('is below 64MB'));
    if (workers !== undefined && workers > 0 && seen === 0 && progress.buildingSamples() >= 2 && !explained) {
      warnings.push(
        `no parallel worker joined the build (${progress.buildingSamples()} samples while building): PostgreSQL plans workers by the table's size (min_parallel_table_scan_size; ALTER TABLE … SET (parallel_workers = N) overrides it), 32 MB of maintenance_work_mem per participant, and max_worker_processes / max_parallel_workers free at the time`,
      );
    }
    return {
      name: r.name,
      ddl,
      statements,
      durationMs: Math.round(performance.now() - started),
      rows,
      estimatedBytes,
      settings,
      progress: progress.summary(),
      notices,
      warnings,
      ...(training === undefined ? {} : { training }),
      ...(seen === undefined ? {} : { parallelWorkersSeen: seen }),
    };
  });
}

/**
 * Why PostgreSQL will plan no parallel worker for a build on this table, if the table's size says so: a heap
 * smaller than `min_parallel_table_scan_size` and no `parallel_workers` storage parameter (which overrides
 * the size rule), or `parallel_workers = 0`.
 */
async function tooSmallForWorkers(client: pg.Client, r: ResolvedIndexSpec): Promise<string | undefined> {
  const table = qualifiedTable(r.table, r.schema);
  const { rows } = await client.query<{ heap: number | null; min: number; option: string | null }>(
    `SELECT pg_relation_size(c.oid)::float8 AS heap,
            pg_size_bytes(current_setting('min_parallel_table_scan_size'))::float8 AS min,
            (SELECT option_value FROM pg_options_to_table(c.reloptions) WHERE option_name = 'parallel_workers') AS option
       FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [table],
  );
  const row = rows[0];
  if (row === undefined || row.heap === null) return undefined;
  if (row.option === '0') {
    return `${table} has the storage parameter parallel_workers = 0: PostgreSQL plans no parallel worker for the build (ALTER TABLE ${table} RESET (parallel_workers))`;
  }
  if (row.option !== null || row.heap >= row.min) return undefined;
  const mb = (bytes: number) => `${Math.round((bytes / MB) * 10) / 10} MB`;
  return (
    `${table}'s heap is ${mb(row.heap)}, below min_parallel_table_scan_size (${mb(row.min)}): PostgreSQL plans no ` +
    `parallel worker for the build, which runs on one core; ALTER TABLE ${table} SET (parallel_workers = N) overrides the size rule`
  );
}

/** Bytes of a memory setting as {@link toMemorySetting} writes it (`512MB`, `2GB`, `65536kB`, `1024`). */
function memoryBytes(setting: string): number {
  const match = /^(\d+)(kB|MB|GB|TB)?$/.exec(setting);
  const unit = { kB: 1024, MB: MB, GB: 1024 * MB, TB: 1024 * 1024 * MB }[match?.[2] ?? 'kB'] ?? 1024;
  return Number(match?.[1] ?? 0) * unit;
}

async function buildError(client: pg.Client, r: ResolvedIndexSpec, error: unknown): Promise<PgVectorError> {
  const e = (error ?? {}) as ServerError;
  const server = serverFields(error);
  if (e.code === '25001') {
    return new PgVectorError('IN_TRANSACTION', `CREATE INDEX CONCURRENTLY cannot run inside a transaction`, {
      cause: error,
      server,
      fix: 'run the build on a connection that is not in a transaction (not inside prisma.$transaction or a migration)',
    });
  }
  let invalid: InvalidIndex | undefined;
  if (r.concurrently) {
    invalid = (await findInvalidIndexes(client, { schema: r.schema }).catch(() => [])).find(
      (i) => i.name === r.name,
    );
  }
  const message = `building index "${r.name}" failed: ${e.message ?? String(error)}`;
  if (invalid !== undefined) {
    return new PgVectorError(
      'INDEX_BUILD_FAILED',
      `${message}\nThe failed concurrent build left the INVALID index "${invalid.name}" on ${invalid.table}: it is not used by queries but is still updated by every write. \`prisma-pgvector maintain --rebuild-invalid\` rebuilds it in place (REINDEX INDEX CONCURRENTLY).`,
      { cause: error, server, fix: invalid.fix },
    );
  }
  return new PgVectorError('INDEX_BUILD_FAILED', message, {
    cause: error,
    server,
    ...(e.hint ? { fix: e.hint } : {}),
  });
}

interface ProgressHandle {
  stop(): Promise<void>;
  summary(): string;
  /** Most parallel workers a sample saw; undefined without samples. */
  workersSeen(): number | undefined;
  /** Samples taken while the index was being built (phase `building index…`). */
  buildingSamples(): number;
}

const NO_PROGRESS = { workersSeen: () => undefined, buildingSamples: () => 0 };

const PROGRESS_SQL = `SELECT phase, blocks_done::float8 AS blocks_done, blocks_total::float8 AS blocks_total,
       tuples_done::float8 AS tuples_done, tuples_total::float8 AS tuples_total,
       (SELECT count(*)::int FROM pg_stat_activity a
         WHERE a.leader_pid = p.pid AND a.backend_type = 'parallel worker') AS workers
  FROM pg_stat_progress_create_index p WHERE p.pid = $1`;

async function startProgress(
  client: pg.Client,
  target: PgTarget,
  options: BuildIndexOptions,
): Promise<ProgressHandle> {
  const onProgress = options.onProgress;
  if (onProgress === undefined) return { stop: async () => {}, summary: () => 'none', ...NO_PROGRESS };
  let reason: string | undefined;
  let samples = 0;
  const unavailable = (why: string) => {
    if (reason !== undefined) return;
    reason = why;
    onProgress({ available: false, reason: why });
  };
  const source = options.progressConnection ?? (typeof target === 'string' ? target : undefined);
  if (source === undefined) {
    unavailable('no second connection: pass a connection string, or progressConnection with a pg.Client');
    return { stop: async () => {}, summary: () => `unavailable: ${reason}`, ...NO_PROGRESS };
  }
  const own = typeof source === 'string';
  let poller: pg.Client;
  try {
    poller = own ? await connectPg(source) : source;
  } catch (error) {
    unavailable(
      `could not open the progress connection: ${error instanceof Error ? error.message : String(error)}`,
    );
    return { stop: async () => {}, summary: () => `unavailable: ${reason}`, ...NO_PROGRESS };
  }
  const pidOf = async (c: pg.Client) =>
    Number((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
  const buildPid = await pidOf(client);
  const pollPid = await pidOf(poller);
  const close = async () => {
    if (own) await poller.end().catch(() => {});
  };
  if (buildPid === pollPid) {
    unavailable(
      'both connections share one server session (the embedded PGlite server runs every connection in one backend): a progress query would wait behind the build',
    );
    await close();
    return { stop: async () => {}, summary: () => `unavailable: ${reason}`, ...NO_PROGRESS };
  }
  let stopped = false;
  let workersSeen: number | undefined;
  let building = 0;
  const interval = options.pollIntervalMs ?? 1000;
  const timeout = options.pollTimeoutMs ?? 5000;
  let wake: () => void = () => {};
  const loop = (async () => {
    while (!stopped && reason === undefined) {
      await new Promise<void>((res) => {
        const t = setTimeout(res, interval);
        wake = () => {
          clearTimeout(t);
          res();
        };
      });
      if (stopped) break;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((res) => {
        timer = setTimeout(() => res('timeout'), timeout);
      });
      const poll = poller.query<{
        phase: string;
        blocks_done: number;
        blocks_total: number;
        tuples_done: number;
        tuples_total: number;
        workers: number;
      }>(PROGRESS_SQL, [buildPid]);
      const outcome = await Promise.race([poll, timedOut]).catch((error: unknown) => error);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        poll.catch(() => {});
        unavailable(`the progress query did not answer within ${timeout} ms; stopped polling`);
        break;
      }
      if (outcome instanceof Error) {
        unavailable(`the progress query failed: ${outcome.message}`);
        break;
      }
      const row = (outcome as pg.QueryResult).rows[0] as
        | {
            phase: string;
            blocks_done: number;
            blocks_total: number;
            tuples_done: number;
            tuples_total: number;
            workers: number;
          }
        | undefined;
      if (row === undefined || stopped) continue;
      samples += 1;
      workersSeen = Math.max(workersSeen ?? 0, row.workers);
      if (row.phase.startsWith('building index')) building += 1;
      const percent =
        row.tuples_total > 0
          ? (100 * row.tuples_done) / row.tuples_total
          : row.blocks_total > 0
            ? (100 * row.blocks_done) / row.blocks_total
            : undefined;
      onProgress({
        available: true,
        phase: row.phase,
        blocksDone: row.blocks_done,
        blocksTotal: row.blocks_total,
        tuplesDone: row.tuples_done,
        tuplesTotal: row.tuples_total,
        percent: percent === undefined ? undefined : Math.min(100, Math.round(percent * 10) / 10),
        workers: row.workers,
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake();
      await loop;
      await close();
    },
    summary: () => (reason !== undefined ? `unavailable: ${reason}` : `reported (${samples} samples)`),
    workersSeen: () => workersSeen,
    buildingSamples: () => building,
  };
}

/** An index PostgreSQL marks invalid (`pg_index.indisvalid = false`). */
export interface InvalidIndex {
  readonly schema: string;
  readonly table: string;
  readonly name: string;
  /** `pg_get_indexdef`: the definition to build again. */
  readonly definition: string;
  /** What to run: drop it concurrently, then build it again (concurrently). */
  readonly fix: string;
}

/**
 * Finds invalid indexes: what a failed `CREATE INDEX CONCURRENTLY` / `REINDEX CONCURRENTLY` leaves behind
 * (also an index whose concurrent build is still running). An invalid index is never used by queries but
 * still slows every write. The fix: `DROP INDEX CONCURRENTLY …;` then build it again.
 *
 * ### Examples
 * ```ts
 * for (const i of await findInvalidIndexes(client)) console.warn(`${i.name}: ${i.fix}`);
 * ```
 *
 * The SQL it runs (PostgreSQL):
 * ```sql
 * SELECT n.nspname, t.relname, c.relname, pg_get_indexdef(i.indexrelid)
 *   FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
 *   JOIN pg_namespace n ON n.oid = c.relnamespace
 *  WHERE NOT i.indisvalid AND n.nspname = coalesce($1, n.nspname) AND n.nspname NOT IN ('pg_catalog', 'information_schema')
 * ```
 */
export async function findInvalidIndexes(
  target: PgTarget,
  options: { schema?: string | undefined } = {},
): Promise<InvalidIndex[]> {
  return withPgClient(target, async (client) => {
    const { rows } = await client.query<{ schema: string; table: string; name: string; definition: string }>(
      `SELECT n.nspname AS schema, t.relname AS table, c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
         FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_class t ON t.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT i.indisvalid AND n.nspname = coalesce($1, n.nspname)
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        ORDER BY 1, 2, 3`,
      [options.schema ?? null],
    );
    return rows.map((row) => {
      const rebuild = row.definition.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX CONCURRENTLY ');
      return {
        ...row,
        fix: `${dropIndexDdl(row.name, { schema: row.schema, concurrently: true })}; then rebuild: ${rebuild};`,
      };
    });
  });
}

/**
 * Reads a vector column's type and dimensions from the catalogue (`format_type`), e.g. for building an
 * index on a column whose definition you do not want to repeat. Throws `INVALID_CONFIG` when the column
 * is missing or is not a pgvector type with dimensions.
 *
 * ### Examples
 * ```ts
 * await describeVectorColumn(client, { table: 'documents', column: 'embedding' }); // { type: 'vector', dimensions: 1536 }
 * ```
 */
export async function describeVectorColumn(
  target: PgTarget,
  where: { table: string; column: string; schema?: string | undefined },
): Promise<{ type: VectorType; dimensions: number }> {
  return withPgClient(target, async (client) => {
    const { rows } = await client.query<{ type: string }>(
      `SELECT format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
        WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
      [qualifiedTable(where.table, where.schema), where.column],
    );
    const type = rows[0]?.type;
    if (type === undefined) {
      throw new PgVectorError('INVALID_CONFIG', `column ${where.table}.${where.column} does not exist`, {
        fix: 'check the table and column names (and the schema / search_path)',
      });
    }
    const match = /^(vector|halfvec|sparsevec|bit)\((\d+)\)$/.exec(type);
    if (match === null) {
      throw new PgVectorError(
        'INVALID_CONFIG',
        `column ${where.table}.${where.column} is ${type}, not a vector type with dimensions`,
        { fix: 'index a vector(n), halfvec(n), sparsevec(n) or bit(n) column' },
      );
    }
    return { type: match[1] as VectorType, dimensions: Number(match[2]) };
  });
}
