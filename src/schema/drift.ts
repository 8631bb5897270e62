import { resolve } from 'node:path';
import pg from 'pg';
import { loadEmbeddedServer } from '../core/optional-dependency.js';
import { searchPathOption } from '../ops/checks/connection.js';
import { runPrismaCli } from './prisma-cli.js';

/**
 * One drift check: what Prisma (or our catalogue comparison) would change, as SQL.
 * `sql` is empty when the check is clean.
 */
export interface DriftCheck {
  readonly name: 'migrations-to-schema' | 'database-to-schema' | 'database-to-migrations';
  readonly description: string;
  readonly clean: boolean;
  /** The SQL that would bring the left side to the right side (empty when clean). */
  readonly sql: string;
  /** Set when the check could not run (the CLI failed); `clean` is then false. */
  readonly error?: string | undefined;
}

export interface DriftReport {
  readonly clean: boolean;
  /** The database compared: the given URL, or `embedded` (a fresh in-memory database migrated here). */
  readonly database: string;
  readonly checks: readonly DriftCheck[];
}

export interface CheckDriftOptions {
  /** Database to compare; default: a fresh in-memory embedded database with the migrations applied. */
  readonly databaseUrl?: string | undefined;
  /** Project directory holding prisma.config.ts. Default `process.cwd()`. */
  readonly cwd?: string | undefined;
  /** Schema file, relative to `cwd`. Default `prisma/schema.prisma`. */
  readonly schema?: string | undefined;
  /** Migrations folder, relative to `cwd`. Default `prisma/migrations`. */
  readonly migrations?: string | undefined;
}

/**
 * Checks that Prisma would change nothing, three ways:
 * 1. migrations → schema: `prisma migrate diff --from-migrations … --to-schema …` (on a shadow database);
 * 2. database → schema: `prisma migrate diff --from-config-datasource --to-schema …`;
 * 3. database → migrations: the catalogue (every index definition with its method, opclass, `WITH` parameters
 *    and predicate, and every column type with its dimensions) of the database against a fresh database that
 *    has only the migrations applied. This catches what Prisma cannot see: a vector index rebuilt with other
 *    parameters, a `vector(1536)` column altered to `vector(768)` (Prisma reads both as `vector`).
 *
 * ### Examples
 * ```ts
 * const report = await checkDrift({ databaseUrl: process.env.DATABASE_URL });
 * if (!report.clean) for (const c of report.checks) if (!c.clean) console.log(c.sql);
 * ```
 */
export async function checkDrift(options: CheckDriftOptions = {}): Promise<DriftReport> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const schema = options.schema ?? 'prisma/schema.prisma';
  const migrations = options.migrations ?? 'prisma/migrations';
  // The embedded database (an optional peer dependency) is loaded here, not when this module is imported.
  const { startEmbeddedServer } = await loadEmbeddedServer('checkDrift');
  const reference = await startEmbeddedServer({ port: 0, memory: true });
  const own = options.databaseUrl === undefined;
  try {
    const deploy = await runPrismaCli(['migrate', 'deploy'], { databaseUrl: reference.url, cwd });
    if (deploy.code !== 0)
      throw new Error(`prisma migrate deploy failed on a fresh database:\n${deploy.stdout}${deploy.stderr}`);
    const databaseUrl = options.databaseUrl ?? reference.url;
    const checks: DriftCheck[] = [];
    checks.push(
      await prismaDiff(
        'migrations-to-schema',
        'Prisma would generate a migration: the migrations folder does not produce schema.prisma',
        ['--from-migrations', migrations, '--to-schema', schema],
        databaseUrl,
        cwd,
      ),
    );
    checks.push(
      await prismaDiff(
        'database-to-schema',
        'Prisma would change the database to match schema.prisma (`migrate dev` would drop or alter it)',
        ['--from-config-datasource', '--to-schema', schema],
        databaseUrl,
        cwd,
      ),
    );
    checks.push(await catalogueDiff(databaseUrl, reference.url));
    return {
      clean: checks.every((c) => c.clean),
      database: own ? 'embedded' : redactUrl(databaseUrl),
      checks,
    };
  } finally {
    await reference.stop();
  }
}

async function prismaDiff(
  name: DriftCheck['name'],
  description: string,
  args: readonly string[],
  databaseUrl: string,
  cwd: string,
): Promise<DriftCheck> {
  const result = await runPrismaCli(['migrate', 'diff', ...args, '--script', '--exit-code'], {
    databaseUrl,
    cwd,
  });
  // --exit-code: 0 = empty diff, 2 = changes, anything else = error.
  if (result.code === 0) return { name, description, clean: true, sql: '' };
  if (result.code === 2) return { name, description, clean: false, sql: result.stdout.trim() };
  return { name, description, clean: false, sql: '', error: `${result.stdout}${result.stderr}`.trim() };
}

interface CatalogueEntry {
  readonly key: string;
  readonly definition: string;
  readonly fix: string;
}

const CATALOGUE_SQL = `
  SELECT 'index ' || i.indexname AS key, i.indexdef AS definition,
         'DROP INDEX ' || quote_ident(i.indexname) AS drop_sql
    FROM pg_indexes i
   WHERE i.schemaname = current_schema() AND i.tablename <> '_prisma_migrations'
  UNION ALL
  SELECT 'column ' || c.relname || '.' || a.attname,
         format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
         ''
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
     AND c.relname <> '_prisma_migrations'
  ORDER BY 1`;

async function readCatalogue(url: string): Promise<Map<string, CatalogueEntry>> {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  const client = new pg.Client({
    connectionString: u.toString(),
    ...(schema ? { options: searchPathOption(schema) } : {}),
  });
  await client.connect();
  try {
    const { rows } = await client.query<{ key: string; definition: string; drop_sql: string }>(CATALOGUE_SQL);
    // Index definitions name the schema (`ON public.documents`): compare them without it.
    const unqualified = (def: string) => def.replace(/ ON (?:"(?:[^"]|"")+"|[^\s."]+)\./, ' ON ');
    return new Map(
      rows.map((r) => [r.key, { key: r.key, definition: unqualified(r.definition), fix: r.drop_sql }]),
    );
  } finally {
    await client.end();
  }
}

async function catalogueDiff(databaseUrl: string, referenceUrl: string): Promise<DriftCheck> {
  const name = 'database-to-migrations';
  const description = 'The database differs from what the migrations create (indexes, column types)';
  try {
    const [actual, expected] = await Promise.all([readCatalogue(databaseUrl), readCatalogue(referenceUrl)]);
    const lines: string[] = [];
    for (const [key, want] of expected) {
      const have = actual.get(key);
      if (!have) {
        lines.push(`-- missing in the database: ${key}`);
        lines.push(key.startsWith('index ') ? `${want.definition};` : `-- expected ${want.definition}`);
      } else if (have.definition !== want.definition) {
        lines.push(
          `-- differs: ${key}\n--   database:   ${have.definition}\n--   migrations: ${want.definition}`,
        );
        if (key.startsWith('index ')) lines.push(`${want.fix};\n${want.definition};`);
      }
    }
    for (const [key, have] of actual) {
      if (!expected.has(key)) {
        lines.push(`-- not created by any migration: ${key}`);
        lines.push(key.startsWith('index ') ? `${have.fix};` : `-- found ${have.definition}`);
      }
    }
    return { name, description, clean: lines.length === 0, sql: lines.join('\n') };
  } catch (error) {
    return {
      name,
      description,
      clean: false,
      sql: '',
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
