/**
 * Where the benchmark runs: the embedded database (PGlite + pgvector over the wire, in a child process) by
 * default, the project's native PostgreSQL + pgvector (`--native`: a throwaway cluster of
 * src/embedded/native-server.ts), or the PostgreSQL that `DATABASE_URL` names. Also: what machine and engine a run measured, and
 * the tables it uses (shaped like `documents`, one per dimension, without vector indexes until asked).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, freemem, loadavg, platform, release, totalmem } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import type { Sql } from '@prisma/client/runtime/client';
import pg from 'pg';
import { startNativeServer } from '../src/embedded/native-server.js';
import { PrismaClient } from '../src/generated/prisma/client.js';
import type { VectorStoreClient } from '../src/store/vector-store.js';

/** Which database a run measures. */
export type EngineKind = 'embedded' | 'native' | 'url';

/** A database to measure, and how to let it go. */
export interface Engine {
  readonly url: string;
  readonly kind: EngineKind;
  readonly embedded: boolean;
  /** pid of the embedded server's process (to read its memory), if any. */
  readonly serverPid: number | undefined;
  /**
   * A full garbage collection in the embedded server's process (no-op on a DATABASE_URL): called between
   * timed loads so that the garbage one load left in the server is not collected during the next one.
   */
  collectGarbage(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the embedded server in a child process, or a throwaway native cluster (`native`), or uses
 * `databaseUrl`.
 */
export async function openEngine(databaseUrl: string | undefined, native = false): Promise<Engine> {
  if (native) {
    if (databaseUrl) throw new Error('--native starts its own server: unset DATABASE_URL, or drop --native');
    const server = await startNativeServer({ onProgress: (m) => console.error(`native server: ${m}`) });
    return {
      url: server.url,
      kind: 'native',
      embedded: false,
      serverPid: undefined,
      collectGarbage: async () => {},
      close: () => server.destroy(),
    };
  }
  if (databaseUrl !== undefined && databaseUrl !== '') {
    return {
      url: databaseUrl,
      kind: 'url',
      embedded: false,
      serverPid: undefined,
      collectGarbage: async () => {},
      close: async () => {},
    };
  }
  const script = fileURLToPath(new URL('./server.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`embedded server exited (${code})`));
      child.once('exit', onExit);
      lines.once('line', (l) => {
        child.off('exit', onExit);
        resolve(l);
      });
    });
  const { url, pid } = JSON.parse(await nextLine()) as { url: string; pid: number };
  return {
    url,
    kind: 'embedded',
    embedded: true,
    serverPid: pid,
    async collectGarbage() {
      const done = nextLine();
      child.stdin?.write('gc\n');
      await done;
    },
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin?.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resident memory of a process in bytes (Linux `/proc`), or NaN where unavailable. */
export function rssOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? Number.NaN : Number(m[1]) * 1024;
  } catch {
    return Number.NaN;
  }
}

/** What was measured on: printed and saved with every run. */
export interface RunInfo {
  readonly date: string;
  readonly machine: {
    readonly cores: number;
    readonly cpu: string;
    readonly memoryGiB: number;
    readonly freeMemoryGiB: number;
    readonly loadAverage: readonly number[];
    readonly platform: string;
    readonly node: string;
  };
  readonly engine: {
    readonly kind:
      | 'embedded (PGlite over the wire, separate process)'
      | 'native (PostgreSQL + pgvector from the debootstrapped root, npm run db:native)'
      | 'DATABASE_URL';
    readonly server: string;
    readonly pgvector: string;
    readonly pglite?: string;
    readonly pglitePgvector?: string;
    readonly parallelMaintenanceWorkers: string;
  };
}

const ENGINE_LABELS = {
  embedded: 'embedded (PGlite over the wire, separate process)',
  native: 'native (PostgreSQL + pgvector from the debootstrapped root, npm run db:native)',
  url: 'DATABASE_URL',
} as const satisfies Record<EngineKind, RunInfo['engine']['kind']>;

function packageVersion(name: string): string {
  const path = fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url));
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

/** Reads the machine and engine facts. */
export async function runInfo(engine: Engine, client: pg.Client): Promise<RunInfo> {
  const { rows } = await client.query<{ server: string; pgvector: string; workers: string }>(
    `SELECT version() AS server,
            (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS pgvector,
            current_setting('max_parallel_maintenance_workers') AS workers`,
  );
  const row = rows[0]!;
  return {
    date: new Date().toISOString(),
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
      loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
      platform: `${platform()} ${release()}`,
      node: process.version,
    },
    engine: {
      kind: ENGINE_LABELS[engine.kind],
      server: row.server,
      pgvector: row.pgvector,
      ...(engine.embedded
        ? {
            pglite: packageVersion('@electric-sql/pglite'),
            pglitePgvector: packageVersion('@electric-sql/pglite-pgvector'),
          }
        : {}),
      parallelMaintenanceWorkers: engine.embedded
        ? `${row.workers} configured, none possible (PGlite is a single process: no parallel workers)`
        : row.workers,
    },
  };
}

/** A `pg` client, connected. */
export async function pgClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** A Prisma Client over `@prisma/adapter-pg` with a pool of `max` connections (what the store is built for). */
export function prismaClient(url: string, max: number, queryPlanCacheMaxSize?: number): AppClient {
  const pool = new pg.Pool({ connectionString: url, max });
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool),
    ...(queryPlanCacheMaxSize === undefined ? {} : { queryPlanCacheMaxSize }),
  });
  return {
    prisma,
    pool,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/** A Prisma Client on a `pg.Pool` of its own, wired as the README recommends (the pool is the store's `pool`). */
export interface AppClient {
  readonly prisma: PrismaClient;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

/** The bench table of a dimension, quoted: `"bench_1536"`. */
export function tableName(dims: number, prefix = 'bench'): string {
  return `${prefix}_${dims}`;
}

/** CREATE TABLE shaped like the `documents` migration, with `vector(dims)` and no vector index. */
export function createTableSql(table: string, dims: number): string {
  return `CREATE TABLE "${table}" (
    "id" TEXT NOT NULL DEFAULT (gen_random_uuid())::text PRIMARY KEY,
    "content" TEXT NOT NULL,
    "metadata" JSONB,
    "embedding" vector(${dims}),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
  )`;
}

/** Drops and creates a bench table (and the extension, if missing). */
export async function resetTable(client: pg.Client, table: string, dims: number): Promise<void> {
  await client.query('CREATE EXTENSION IF NOT EXISTS vector');
  await client.query(`DROP TABLE IF EXISTS "${table}"`);
  await client.query(createTableSql(table, dims));
}

/** The HNSW index of the `documents` migration (cosine, m = 16, ef_construction = 64) on a bench table. */
export function hnswIndexSql(table: string): string {
  return `CREATE INDEX "${table}_embedding_hnsw_idx" ON "${table}" USING hnsw ("embedding" vector_cosine_ops) WITH (m = 16, ef_construction = 64)`;
}

/**
 * A store client over `prisma` that hands every statement the store sends outside a transaction to
 * `onSql` first: how the bench reads the store's exact SQL and bound values.
 */
export function capturingClient(prisma: PrismaClient, onSql: (statement: Sql) => void): VectorStoreClient {
  return {
    $queryRaw: <R>(q: Sql) => {
      onSql(q);
      return prisma.$queryRaw<R>(q);
    },
    $executeRaw: (q: Sql) => {
      onSql(q);
      return prisma.$executeRaw(q);
    },
    $transaction: <R>(
      fn: (tx: VectorStoreClient) => Promise<R>,
      options?: { maxWait?: number; timeout?: number },
    ) => prisma.$transaction((tx) => fn(tx as unknown as VectorStoreClient), options),
    $connect: prisma.$connect.bind(prisma),
  } as VectorStoreClient;
}
