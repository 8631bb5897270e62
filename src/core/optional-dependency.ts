/**
 * Optional packages: loaded only by the doors and functions that need them, never when the main entry
 * (`prisma-pgvector`) is imported. When one is not installed, {@link loadOptional} throws a
 * {@link PgVectorError} with code `MISSING_DEPENDENCY` that names the package and the version to install.
 *
 * Each import is written literally at its call site (`() => import('../embedded/server.js')`) so that bundlers
 * see it and tsc's CommonJS output (`module: CommonJS`) turns it into a `require()` inside a promise — which is
 * right for both builds: the CommonJS build loads its own CommonJS files and the packages' `require` exports.
 */

import { PgVectorError } from './errors.js';

/**
 * The optional peer dependencies and the versions we test with (package.json's `peerDependencies`;
 * tests/package/dependencies.test.ts keeps the two in step).
 */
export const OPTIONAL_PACKAGES = {
  '@electric-sql/pglite': '0.5.14',
  '@electric-sql/pglite-pgvector': '0.0.15',
  '@electric-sql/pglite-socket': '0.2.17',
  'pglite-prisma-adapter': '0.7.2',
} as const;

export type OptionalPackage = keyof typeof OPTIONAL_PACKAGES;

/** The embedded database (`prisma-pgvector/embedded`, `checkDrift`, `createIndexMigration`) needs these. */
export const EMBEDDED_PACKAGES: readonly OptionalPackage[] = [
  '@electric-sql/pglite',
  '@electric-sql/pglite-pgvector',
  '@electric-sql/pglite-socket',
];

/** The command that installs `packages` at the tested versions. */
export function installCommand(packages: readonly OptionalPackage[]): string {
  return `npm install --save-dev ${packages.map((p) => `${p}@${OPTIONAL_PACKAGES[p]}`).join(' ')}`;
}

/** The package a module-not-found error names, when it is one of `packages`. */
export function missingPackage(error: unknown, packages: readonly string[]): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  const message = error instanceof Error ? error.message : String(error);
  // ESM: "Cannot find package 'x' imported from …"; CommonJS: "Cannot find module 'x'" or "'x/sub'".
  return packages.find((p) => message.includes(`'${p}'`) || message.includes(`'${p}/`));
}

/**
 * Runs `load` (a literal `import()` of a module that needs `packages`); a module-not-found error for one of
 * them becomes `MISSING_DEPENDENCY`, naming what to install and who needed it (`usedBy`).
 *
 * ### Examples
 * ```ts
 * const { startEmbeddedServer } = await loadOptional(EMBEDDED_PACKAGES, 'checkDrift', () =>
 *   import('../embedded/server.js'),
 * );
 * ```
 */
export async function loadOptional<T>(
  packages: readonly OptionalPackage[],
  usedBy: string,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const missing = missingPackage(error, packages);
    if (missing === undefined) throw error;
    throw new PgVectorError(
      'MISSING_DEPENDENCY',
      `${usedBy} needs the optional package ${missing}, which is not installed.`,
      { cause: error, fix: `${installCommand(packages)} (the versions prisma-pgvector is tested with)` },
    );
  }
}

/** The embedded server module (PGlite + pgvector over the wire), loaded on first use. */
export function loadEmbeddedServer(usedBy: string): Promise<typeof import('../embedded/server.js')> {
  return loadOptional(EMBEDDED_PACKAGES, usedBy, () => import('../embedded/server.js'));
}
