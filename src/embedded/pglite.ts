import { mkdirSync, realpathSync } from 'node:fs';
import { type Extensions, PGlite } from '@electric-sql/pglite';
import { vector as pgvector } from '@electric-sql/pglite-pgvector';
import { PgVectorError } from '../core/errors.js';
import { type BackendGuard, guardBackend } from './backend-guard.js';
import { assertCompatibleDataDir, DEFAULT_DATA_DIR } from './data-dir.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';

/** Where and how {@link openEmbeddedDatabase} opens the embedded database. */
export interface EmbeddedDatabaseOptions {
  /**
   * Directory holding the database files; created if missing; resolved against `process.cwd()`.
   * Default `.data/pglite`. Not allowed together with `memory`.
   */
  readonly dataDir?: string | undefined;
  /** Keep the database in memory only (shadow databases, tests): nothing is written to disk. Default false. */
  readonly memory?: boolean | undefined;
  /**
   * Load pgvector so that `CREATE EXTENSION vector` works. Default true. The extension itself is never
   * created here (migrations do that); false gives "PostgreSQL without pgvector", for tests.
   */
  readonly vector?: boolean | undefined;
}

/** An open embedded database: one PGlite instance (PostgreSQL 18 in WASM, one backend). */
export interface EmbeddedDatabase {
  /** The PGlite instance. Do not call its `close()`: call {@link EmbeddedDatabase.close}. */
  readonly pglite: PGlite;
  /** Absolute path of the data directory; `undefined` for an in-memory database. */
  readonly dataDir: string | undefined;
  /** Whether pgvector is loadable (`CREATE EXTENSION vector`). */
  readonly vector: boolean;
  /**
   * True once the Postgres backend has exited after a FATAL error: every query then fails with
   * `DATABASE_ERROR` (instead of hanging the process). Close and reopen to continue.
   */
  readonly terminated: boolean;
  /** True once {@link EmbeddedDatabase.close} has been called. */
  readonly closed: boolean;
  /** Flushes and closes PGlite, then releases the data directory lock. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens the embedded PostgreSQL (PGlite) on a data directory, or in memory.
 *
 * A data directory is checked before PGlite touches it (it must be new, empty, or a PostgreSQL 18 data
 * directory: `DATA_DIR_INCOMPATIBLE` otherwise) and locked for this process (`DATA_DIR_LOCKED` when another
 * live process, or this one, has it open; a stale lock is taken over). The first start runs initdb (~6 s),
 * later starts take ~0.5 s.
 *
 * @throws PgVectorError `INVALID_CONFIG`, `DATA_DIR_INCOMPATIBLE`, `DATA_DIR_LOCKED`, or `DATABASE_ERROR`
 *   when PGlite fails to start.
 *
 * ### Examples
 * ```ts
 * const db = await openEmbeddedDatabase({ dataDir: '.data/pglite' });
 * try {
 *   await db.pglite.exec('CREATE EXTENSION IF NOT EXISTS vector');
 *   const { rows } = await db.pglite.query(`SELECT '[1,2]'::vector <=> '[2,1]' AS distance`);
 * } finally {
 *   await db.close();
 * }
 * const scratch = await openEmbeddedDatabase({ memory: true, vector: false });
 * ```
 */
export async function openEmbeddedDatabase(options: EmbeddedDatabaseOptions = {}): Promise<EmbeddedDatabase> {
  if (options.memory && options.dataDir !== undefined) {
    throw new PgVectorError('INVALID_CONFIG', 'Pass either `dataDir` or `memory: true`, not both.');
  }
  const vector = options.vector ?? true;
  const extensions: Extensions = vector ? { vector: pgvector } : {};

  if (options.memory) {
    const pglite = await PGlite.create({ dataDir: 'memory://', extensions });
    return embeddedDatabase(pglite, undefined, vector, undefined);
  }

  const checked = assertCompatibleDataDir(options.dataDir ?? DEFAULT_DATA_DIR);
  mkdirSync(checked, { recursive: true, mode: 0o700 });
  // One spelling per directory, so that a symlinked path cannot open it twice in this process.
  const dataDir = realpathSync(checked);
  const lock = acquireDataDirLock(dataDir);
  let pglite: PGlite;
  try {
    pglite = await PGlite.create({ dataDir, extensions });
  } catch (error) {
    lock.release();
    throw new PgVectorError(
      'DATABASE_ERROR',
      `PGlite could not start on data directory ${dataDir}: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
        fix: 'If another PGlite version created this directory or it is damaged, start with a new --data-dir.',
      },
    );
  }
  return embeddedDatabase(pglite, dataDir, vector, lock);
}

function embeddedDatabase(
  pglite: PGlite,
  dataDir: string | undefined,
  vector: boolean,
  lock: DataDirLock | undefined,
): EmbeddedDatabase {
  const guard: BackendGuard = guardBackend(pglite);
  let closing: Promise<void> | undefined;
  return {
    pglite,
    dataDir,
    vector,
    get terminated() {
      return guard.terminated;
    },
    get closed() {
      return closing !== undefined;
    },
    close() {
      closing ??= (async () => {
        try {
          await pglite.close();
        } finally {
          lock?.release();
        }
      })();
      return closing;
    },
  };
}
