// @ts-check
/**
 * What to do when pgvector is missing: the one place this advice is written. Used by the offline schema
 * engine (`schema-engine.mjs`, plain JS that runs before any build) to explain a failed `CREATE EXTENSION`,
 * and by `prisma-pgvector doctor` (TypeScript, `src/ops/checks/pgvector-advice.ts`, which loads this file
 * at run time because the build's rootDir is `src`).
 */

/** How to install pgvector on the server, one line per platform: OS packages, Docker, managed providers, the embedded database. */
export const PGVECTOR_INSTALL_STEPS = `  - Debian/Ubuntu (PGDG packages): apt install postgresql-<major>-pgvector   (e.g. postgresql-17-pgvector)
  - RHEL/Fedora: dnf install pgvector_<major>;  macOS (Homebrew): brew install pgvector
  - Docker: use the pgvector/pgvector:pg<major> image
  - Managed: Supabase (Database > Extensions > vector), Neon / AWS RDS / Aurora / Cloud SQL / Azure Flexible
    Server (allow-list "vector" in azure.extensions) support it; the migration's CREATE EXTENSION then works.
  - Local development without a server: \`npm run db\` serves an embedded PostgreSQL with pgvector.`;

/** Who may run `CREATE EXTENSION vector` when the application's user may not. */
export const PGVECTOR_PERMISSION_ADVICE = `Ask an administrator to run
\`CREATE EXTENSION vector;\` in this database once (RDS: a user with rds_superuser; PostgreSQL 13+: the
database owner can when the extension is trusted)`;

/** Database errors that mean "pgvector is not there", with what to do about each (for a failed migration). */
export const PGVECTOR_HINTS = [
  {
    pattern:
      /extension "vector" is not available|could not open extension control file "[^"]*vector\.control"/,
    hint: `pgvector is not installed on this PostgreSQL server, so \`CREATE EXTENSION vector\` cannot run.
Fix it on the server, then run the migration again:
${PGVECTOR_INSTALL_STEPS}
Prisma has recorded the migration as failed: after the fix, run
  npx prisma migrate resolve --rolled-back <migration name>   and then   npx prisma migrate deploy`,
  },
  {
    pattern: /permission denied to create extension "vector"|must be (superuser|owner)[^\n]*extension/,
    hint: `This database user may not create the vector extension. ${PGVECTOR_PERMISSION_ADVICE}, then run the migration again.`,
  },
];

/**
 * Adds our explanation to a database error message that means pgvector is missing; returns other messages
 * unchanged.
 *
 * @param {string} message
 * @returns {string}
 */
export function pgvectorHint(message) {
  const found = PGVECTOR_HINTS.find((h) => h.pattern.test(message));
  return found ? `${found.hint}\n\nDatabase error:\n${message}` : message;
}
