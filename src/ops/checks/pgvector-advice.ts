/**
 * Loads the pgvector install advice from `engine/pgvector-hints.mjs`, the one place it is written (the offline
 * schema engine explains a failed `CREATE EXTENSION` with the same text).
 *
 * The engine is plain JS that runs before any build and the build's rootDir is `src`, so the file cannot be
 * compiled in; it ships in the package's `engine/` folder and is imported at run time, relative to this
 * module: `../../../engine` from `src/ops/checks/` (tsx, tests), `../../../../engine` from
 * `dist/{esm,cjs}/ops/checks/` (the built package).
 */

import type * as PgvectorHints from '../../../engine/pgvector-hints.mjs';

/** The advice texts of `engine/pgvector-hints.mjs`. */
export type PgvectorAdvice = typeof PgvectorHints;

const CANDIDATES = ['../../../engine/pgvector-hints.mjs', '../../../../engine/pgvector-hints.mjs'];

let loaded: Promise<PgvectorAdvice> | undefined;

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

async function load(): Promise<PgvectorAdvice> {
  const tried: string[] = [];
  for (const specifier of CANDIDATES) {
    try {
      const module = (await import(specifier)) as Partial<PgvectorAdvice>;
      if (typeof module.PGVECTOR_INSTALL_STEPS === 'string') return module as PgvectorAdvice;
      tried.push(`${specifier} (not the advice module)`);
    } catch (error) {
      if (!isModuleNotFound(error)) throw error;
      tried.push(specifier);
    }
  }
  throw new Error(`engine/pgvector-hints.mjs not found next to this package (tried ${tried.join(', ')})`);
}

/**
 * The pgvector advice (install steps per platform, permission advice), loaded once.
 *
 * ### Examples
 * ```ts
 * const { PGVECTOR_INSTALL_STEPS } = await pgvectorAdvice();
 * console.log(`Install pgvector on the server:\n${PGVECTOR_INSTALL_STEPS}`);
 * ```
 */
export function pgvectorAdvice(): Promise<PgvectorAdvice> {
  loaded ??= load();
  return loaded;
}
