import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PgVectorError } from '../core/errors.js';

/**
 * Major version of the PostgreSQL that `@electric-sql/pglite` 0.5.x runs (PostgreSQL 18.6), as written by
 * initdb into `PG_VERSION`. A data directory with another major cannot be opened by this PGlite.
 *
 * ### Examples
 * ```ts
 * PGLITE_POSTGRES_MAJOR; // '18'
 * ```
 */
export const PGLITE_POSTGRES_MAJOR = '18';

/**
 * Data directory used when none is given, relative to the current working directory.
 *
 * ### Examples
 * ```ts
 * resolve(DEFAULT_DATA_DIR); // '/my/app/.data/pglite'
 * ```
 */
export const DEFAULT_DATA_DIR = '.data/pglite';

/**
 * Name of the lock file this library keeps inside a data directory while a database is open on it.
 * PostgreSQL ignores unknown files in its data directory.
 *
 * ### Examples
 * ```ts
 * join(dataDir, DATA_DIR_LOCK_FILE); // '/my/app/.data/pglite/.prisma-pgvector.lock'
 * ```
 */
export const DATA_DIR_LOCK_FILE = '.prisma-pgvector.lock';

/**
 * Checks, without writing anything, that PGlite may open `dataDir`: it must be missing, empty (apart from
 * our lock file), or a PostgreSQL data directory of {@link PGLITE_POSTGRES_MAJOR}. PGlite itself would run
 * initdb inside any directory without `PG_VERSION`, mixing its files with whatever is there, and fails
 * with an opaque error on a data directory of another major; this check refuses both before PGlite starts.
 *
 * @returns the absolute path of the data directory.
 * @throws PgVectorError `DATA_DIR_INCOMPATIBLE` when the directory must not be used.
 *
 * ### Examples
 * ```ts
 * assertCompatibleDataDir('.data/pglite'); // '/my/app/.data/pglite'
 * assertCompatibleDataDir('/home/me/photos'); // throws DATA_DIR_INCOMPATIBLE (not a data directory)
 * ```
 */
export function assertCompatibleDataDir(dataDir: string): string {
  const dir = resolve(dataDir);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') return dir;
    if (isErrnoException(error) && error.code === 'ENOTDIR') {
      throw new PgVectorError(
        'DATA_DIR_INCOMPATIBLE',
        `Data directory ${dir} exists but is not a directory.`,
        {
          fix: 'Pass a directory path with --data-dir (a new path is created on first start).',
        },
      );
    }
    throw error;
  }

  if (entries.includes('PG_VERSION')) {
    const major = readFileSync(join(dir, 'PG_VERSION'), 'utf8').trim();
    if (major !== PGLITE_POSTGRES_MAJOR) {
      throw new PgVectorError(
        'DATA_DIR_INCOMPATIBLE',
        `Data directory ${dir} was created by PostgreSQL ${major || '(unknown)'}, but the embedded database ` +
          `(PGlite) runs PostgreSQL ${PGLITE_POSTGRES_MAJOR}; it cannot open it. The directory was not touched.`,
        {
          fix:
            'Start with a new --data-dir, or dump the old database with the PGlite/PostgreSQL version that ' +
            'created it (pg_dump through its server) and restore the dump into the new one.',
        },
      );
    }
    return dir;
  }

  const foreign = entries.filter((name) => name !== DATA_DIR_LOCK_FILE);
  if (foreign.length > 0) {
    const sample = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ', …' : '');
    throw new PgVectorError(
      'DATA_DIR_INCOMPATIBLE',
      `Data directory ${dir} is not empty and is not a PostgreSQL data directory (no PG_VERSION; ` +
        `found ${sample}). Refusing to create a database inside it; the directory was not touched.`,
      { fix: 'Pass a new or empty directory with --data-dir.' },
    );
  }
  return dir;
}

/**
 * True when `error` is a Node.js system error (it has a string `code` such as `ENOENT`).
 *
 * ### Examples
 * ```ts
 * if (isErrnoException(error) && error.code === 'EADDRINUSE') ...
 * ```
 */
export function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}
