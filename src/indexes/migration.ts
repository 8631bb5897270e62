/**
 * Drift-safe vector index migrations: {@link createIndexMigration} writes a Prisma migration folder with the
 * `CREATE INDEX` for a vector index and the matching `@@index([...], map: "...")` line for schema.prisma —
 * optionally inserting it — so that `prisma migrate dev` / `migrate diff` never drop the index.
 *
 * The partial-index predicate in `where: raw("...")` must be PostgreSQL's own rendering of it
 * (`((metadata ->> 'type'::text) = 'note'::text)`, not what you wrote), or Prisma sees drift. We get it
 * the reliable way: the project's migrations are applied to a scratch in-memory database (embedded PGlite +
 * pgvector), the new index is created there (which also proves pgvector accepts the DDL), and the predicate
 * is read back with `pg_get_expr(indpred, indrelid)`.
 *
 * The migration never uses `CONCURRENTLY`: Prisma runs a migration's script as one unit, and
 * `CREATE INDEX CONCURRENTLY` cannot run inside a transaction block. On a big, busy table, build the index
 * with `prisma-pgvector build-index --concurrently` (no write lock) and then record the migration as
 * applied without running it: `prisma migrate resolve --applied <migration folder name>`.
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { PgVectorError } from '../core/errors.js';
import type { IndexMethod, Metric, VectorType } from '../core/metric.js';
import { loadEmbeddedServer } from '../core/optional-dependency.js';
import {
  type FilterIndexKind,
  filterIndexDdl,
  filterIndexPrismaLine,
  resolveFilterIndexSpec,
} from './filter-index.js';
import {
  type IndexExpression,
  type IndexSpec,
  indexDdl,
  prismaIndexLine,
  resolveIndexSpec,
} from './index-spec.js';

/**
 * Vector expression indexes and schema.prisma, measured with Prisma 7.10 on a `vector(3072)` table whose
 * vector indexes are `("embedding"::halfvec(3072))` and `(binary_quantize("embedding")::bit(3072))`: with
 * no line all three drift checks are clean; with `@@index([embedding], map: …)` `migrate diff` wants
 * `CREATE INDEX … ON "documents"("embedding")` (tests/cli/expression-index-migration.test.ts).
 */
export const VECTOR_EXPRESSION_INDEX_NOTE =
  'Prisma does not see expression indexes (migrate diff stays empty without a line; a plain @@index([embedding], map: …) would make it create a B-tree on the column)';

export interface CreateIndexMigrationOptions extends MigrationProjectOptions {
  /** Index name; also the migration folder's suffix. */
  readonly name: string;
  /** The vector column: the Prisma field name or its `@map` column name. */
  readonly column: string;
  readonly method: IndexMethod;
  readonly metric: Metric;
  readonly m?: number | undefined;
  readonly efConstruction?: number | undefined;
  readonly lists?: number | undefined;
  /** Partial index predicate: RAW SQL from configuration, never from user input. */
  readonly where?: string | undefined;
  readonly expression?: IndexExpression | undefined;
  /** The table (a model's `@@map` name or model name) when several models have the column. */
  readonly table?: string | undefined;
}

/** Where a migration is written: the project's schema and migrations folder. */
export interface MigrationProjectOptions {
  /** Project directory. Default `process.cwd()`. */
  readonly cwd?: string | undefined;
  /** Schema file, relative to `cwd`. Default `prisma/schema.prisma`. */
  readonly schema?: string | undefined;
  /** Migrations folder, relative to `cwd`. Default `prisma/migrations`. */
  readonly migrations?: string | undefined;
  /** Insert the `@@index` line into schema.prisma (when the index has one). */
  readonly apply?: boolean | undefined;
  /** Timestamp of the migration folder; default now (UTC), always after the latest existing migration. */
  readonly now?: Date | undefined;
}

export interface IndexMigration {
  /** `<UTC timestamp>_<name>`. */
  readonly migrationName: string;
  /** Absolute path of the new migration.sql. */
  readonly migrationFile: string;
  /** Its content. */
  readonly sql: string;
  /** The CREATE INDEX statement. */
  readonly ddl: string;
  /**
   * The line for the model in schema.prisma; `undefined` for an expression index (`halfvec`,
   * `binary_quantize`), which Prisma does not see: a plain `@@index([embedding], map: …)` for it makes
   * `migrate diff` create a B-tree on the column, and no line keeps the diff empty (see {@link VECTOR_EXPRESSION_INDEX_NOTE}).
   */
  readonly prismaLine: string | undefined;
  /** Why there is no line, when there is none. */
  readonly note?: string | undefined;
  /** PostgreSQL's rendering of the predicate, for partial indexes. */
  readonly predicate: string | undefined;
  /** `pg_get_indexdef` in the scratch database. */
  readonly indexDefinition: string;
  /** The model the index belongs to, and its table. */
  readonly model: string;
  readonly table: string;
  /** True when the line was inserted into schema.prisma. */
  readonly applied: boolean;
  readonly schemaFile: string;
}

interface PrismaField {
  readonly name: string;
  readonly column: string;
  readonly type: string;
}

interface PrismaModel {
  readonly name: string;
  readonly table: string;
  readonly fields: readonly PrismaField[];
  /** Offsets of the model body in the schema text. */
  readonly start: number;
  readonly end: number;
  readonly body: string;
}

/** Models in a schema.prisma, with fields, `@map` columns and `@@map` tables (comments stripped). */
export function parsePrismaModels(text: string): PrismaModel[] {
  const models: PrismaModel[] = [];
  const re = /^model\s+(\w+)\s*\{/gm;
  for (let match = re.exec(text); match !== null; match = re.exec(text)) {
    const start = match.index;
    const close = text.indexOf('\n}', start);
    const end = close < 0 ? text.length : close + 2;
    const body = text.slice(start, end);
    const fields: PrismaField[] = [];
    let table = match[1] as string;
    for (const raw of body.split('\n').slice(1)) {
      const line = raw.replace(/\/\/.*$/, '').trim();
      const tableMap = /^@@map\(\s*"([^"]+)"\s*\)/.exec(line);
      if (tableMap) table = tableMap[1] as string;
      const field = /^(\w+)\s+(\S+)/.exec(line);
      if (!field || line.startsWith('@@')) continue;
      const column = /@map\(\s*"([^"]+)"\s*\)/.exec(line)?.[1] ?? (field[1] as string);
      fields.push({ name: field[1] as string, column, type: field[2] as string });
    }
    models.push({ name: match[1] as string, table, fields, start, end, body });
  }
  return models;
}

function findField(
  models: readonly PrismaModel[],
  column: string,
  table: string | undefined,
  flag = '--column',
): { model: PrismaModel; field: PrismaField } {
  const hits: { model: PrismaModel; field: PrismaField }[] = [];
  for (const model of models) {
    if (table !== undefined && model.table !== table && model.name !== table) continue;
    for (const field of model.fields)
      if (field.name === column || field.column === column) hits.push({ model, field });
  }
  if (hits.length === 0) {
    throw new PgVectorError(
      'INVALID_CONFIG',
      `no model${table ? ` '${table}'` : ''} has a field or column '${column}'`,
      {
        fix: `pass ${flag} with the field name (and --table with the model or table name)`,
      },
    );
  }
  if (hits.length > 1) {
    throw new PgVectorError(
      'INVALID_CONFIG',
      `several models have '${column}': ${hits.map((h) => h.model.name).join(', ')}`,
      { fix: 'pass --table with the model or table name' },
    );
  }
  return hits[0] as { model: PrismaModel; field: PrismaField };
}

function findVectorField(
  models: readonly PrismaModel[],
  column: string,
  table: string | undefined,
): { model: PrismaModel; field: PrismaField; type: VectorType; dimensions: number } {
  const hit = findField(models, column, table);
  const type = /^Unsupported\(\s*"(vector|halfvec|sparsevec|bit)\((\d+)\)"\s*\)\??$/.exec(hit.field.type);
  if (type === null) {
    throw new PgVectorError(
      'INVALID_CONFIG',
      `${hit.model.name}.${hit.field.name} is ${hit.field.type}, not Unsupported("vector(n)") (or halfvec/sparsevec/bit)`,
      { fix: 'declare the column as e.g. `embedding Unsupported("vector(1536)")?`' },
    );
  }
  return { ...hit, type: type[1] as VectorType, dimensions: Number(type[2]) };
}

function timestamp(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${date.getUTCFullYear()}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
}

/** The next migration timestamp: now, or one second after the latest existing one. */
function nextTimestamp(existing: readonly string[], now: Date): string {
  let ts = timestamp(now);
  const latest = existing
    .map((d) => /^(\d{14})_/.exec(d)?.[1])
    .filter((x): x is string => x !== undefined)
    .sort()
    .at(-1);
  if (latest !== undefined && ts <= latest) {
    const y = Number(latest.slice(0, 4));
    const mo = Number(latest.slice(4, 6)) - 1;
    const d = Number(latest.slice(6, 8));
    const h = Number(latest.slice(8, 10));
    const mi = Number(latest.slice(10, 12));
    const s = Number(latest.slice(12, 14));
    ts = timestamp(new Date(Date.UTC(y, mo, d, h, mi, s) + 1000));
  }
  return ts;
}

/** Inserts `line` into the model body: before its `@@map`, else before the closing brace. */
function insertLine(text: string, model: PrismaModel, line: string): string {
  const lines = model.body.split('\n');
  const mapAt = lines.findIndex((l) => /^\s*@@map\(/.test(l));
  const at = mapAt >= 0 ? mapAt : lines.length - 1;
  lines.splice(at, 0, `  ${line}`);
  return text.slice(0, model.start) + lines.join('\n') + text.slice(model.end);
}

/**
 * Writes a migration that creates a vector index, and returns the `@@index` line that mirrors it in
 * schema.prisma (inserted there with `apply`). Runs the project's migrations and the new DDL on a scratch
 * in-memory database first: the DDL is proven, and the partial predicate is PostgreSQL's rendering.
 *
 * ### Examples
 * ```ts
 * const m = await createIndexMigration({
 *   name: 'documents_embedding_note_hnsw_idx', column: 'embedding', method: 'hnsw', metric: 'cosine',
 *   where: "(metadata ->> 'type') = 'note'", apply: true,
 * });
 * m.prismaLine; // '@@index([embedding], map: "documents_embedding_note_hnsw_idx", where: raw("((metadata ->> \'type\'::text) = \'note\'::text)"))'
 * ```
 *
 * The migration it writes (prisma/migrations/<UTC timestamp>_documents_embedding_note_hnsw_idx/migration.sql):
 * ```sql
 * CREATE INDEX "documents_embedding_note_hnsw_idx" ON "documents" USING hnsw ("embedding" vector_cosine_ops) WITH (m = 16, ef_construction = 64) WHERE (metadata ->> 'type') = 'note';
 * ```
 */
export async function createIndexMigration(options: CreateIndexMigrationOptions): Promise<IndexMigration> {
  checkIndexName(
    options.name,
    'use a name like documents_embedding_note_hnsw_idx (it is also the migration folder name)',
  );
  const project = openProject(options);
  const { model, field, type, dimensions } = findVectorField(project.models, options.column, options.table);
  checkNameFree(model, options.name);
  const spec: IndexSpec = {
    table: model.table,
    column: field.column,
    name: options.name,
    method: options.method,
    type,
    dimensions,
    metric: options.metric,
    m: options.m,
    efConstruction: options.efConstruction,
    lists: options.lists,
    where: options.where,
    expression: options.expression,
  };
  const resolved = resolveIndexSpec(spec);
  const ddl = indexDdl(resolved);
  const existing = existingMigrations(project.migrationsDir);
  const scratch = await renderInScratch(project.migrationsDir, existing, ddl, options.name);

  // Expression indexes (models above 2,000 dimensions) have no line: Prisma does not see them.
  const prismaLine =
    resolved.expression === undefined
      ? prismaIndexLine(field.name, options.name, scratch.predicate)
      : undefined;
  const migrationName = `${nextTimestamp(existing, options.now ?? new Date())}_${options.name}`;
  const header = [
    `-- Vector index "${options.name}" on ${model.table}.${field.column}, written by \`prisma-pgvector migration index\`.`,
    ...(prismaLine === undefined
      ? [`-- No @@index line in schema.prisma: ${VECTOR_EXPRESSION_INDEX_NOTE}.`]
      : [`-- Mirrored in schema.prisma (model ${model.name}) by:`, `--   ${prismaLine}`]),
    '-- Not CONCURRENTLY: a migration cannot use it. For a big, busy table build the index with',
    `--   prisma-pgvector build-index --concurrently --name ${options.name} …`,
    `-- and then mark this migration applied: prisma migrate resolve --applied ${migrationName}`,
  ];
  const sql = `${header.join('\n')}\n${ddl};\n`;
  const { migrationFile, applied, schemaFile } = writeMigration(
    project,
    options,
    model,
    migrationName,
    sql,
    prismaLine,
  );
  return {
    migrationName,
    migrationFile,
    sql,
    ddl,
    prismaLine,
    note: prismaLine === undefined ? VECTOR_EXPRESSION_INDEX_NOTE : undefined,
    predicate: scratch.predicate,
    indexDefinition: scratch.definition,
    model: model.name,
    table: model.table,
    applied,
    schemaFile,
  };
}

export interface CreateFilterIndexMigrationOptions extends MigrationProjectOptions {
  /** `gin` (equality, `in`, `contains`), `text` / `number` (ranges on `key`), `createdAt`. */
  readonly kind: FilterIndexKind;
  /** `text` / `number`: the metadata key (`a.b` for a nested one). */
  readonly key?: string | undefined;
  /** Index name (also the migration folder's suffix); default `defaultFilterIndexName`. */
  readonly name?: string | undefined;
  /** The field: its Prisma name or `@map` column. Default `metadata` (gin, text, number) or `createdAt`. */
  readonly column?: string | undefined;
  /** The model or table, when several models have the field. */
  readonly table?: string | undefined;
}

/** What {@link createFilterIndexMigration} wrote. */
export interface FilterIndexMigration extends Omit<IndexMigration, 'prismaLine' | 'predicate'> {
  readonly kind: FilterIndexKind;
  /** The `@@index` line for schema.prisma; `undefined` for expression indexes, which need none. */
  readonly prismaLine: string | undefined;
  /** Why there is no line, when there is none. */
  readonly note: string | undefined;
}

/** Expression indexes and schema.prisma: what `prisma migrate diff` showed (see filter-index.ts). */
export const EXPRESSION_INDEX_NOTE =
  "no @@index line: Prisma's introspection ignores expression indexes (migrate diff stays empty), and a line `@@index([metadata], map: …)` would make Prisma create a plain B-tree on the column";

/**
 * Writes a migration that creates a filter index — GIN `jsonb_path_ops` on the metadata, an expression
 * B-tree on one key (`text` or `number`), or a B-tree on `created_at` — and returns the `@@index` line that
 * keeps it drift-free (for gin and createdAt; expression indexes need none: Prisma does not see them). The
 * project's migrations and the new DDL run on a scratch in-memory database first; an index with the same
 * definition there (under any name) is refused.
 *
 * ### Examples
 * ```ts
 * const m = await createFilterIndexMigration({ kind: 'number', key: 'price' });
 * m.ddl;        // 'CREATE INDEX "documents_metadata_price_num_idx" ON "documents" USING btree (((CASE … END)))'
 * m.prismaLine; // undefined
 * (await createFilterIndexMigration({ kind: 'createdAt', apply: true })).prismaLine;
 * // '@@index([createdAt], map: "documents_created_at_idx")'
 * ```
 */
export async function createFilterIndexMigration(
  options: CreateFilterIndexMigrationOptions,
): Promise<FilterIndexMigration> {
  const project = openProject(options);
  const wanted = options.column ?? (options.kind === 'createdAt' ? 'createdAt' : 'metadata');
  const { model, field } = findField(project.models, wanted, options.table);
  const want = options.kind === 'createdAt' ? /^DateTime\??$/ : /^Json\??$/;
  if (!want.test(field.type)) {
    throw new PgVectorError(
      'INVALID_CONFIG',
      `${model.name}.${field.name} is ${field.type}; a ${options.kind} index needs a ${options.kind === 'createdAt' ? 'DateTime' : 'Json'} field`,
      { fix: '--column names the field (its Prisma name or @map column)' },
    );
  }
  const resolved = resolveFilterIndexSpec({
    table: model.table,
    kind: options.kind,
    key: options.key,
    column: field.column,
    name: options.name,
  });
  const name = resolved.name;
  checkIndexName(name, 'pass --name (it is also the migration folder name)');
  checkNameFree(model, name);
  const ddl = filterIndexDdl(resolved);
  const existing = existingMigrations(project.migrationsDir);
  const scratch = await renderInScratch(project.migrationsDir, existing, ddl, name);
  if (scratch.equivalents.length > 0) {
    throw new PgVectorError(
      'INVALID_CONFIG',
      `${model.table} already has this index under another name: ${scratch.equivalents.join(', ')} (${scratch.definition.slice(scratch.definition.lastIndexOf(' USING ') + 1)})`,
      { fix: 'nothing to do: the existing index serves the same filters' },
    );
  }
  const prismaLine = filterIndexPrismaLine(options.kind, field.name, name);
  const note = prismaLine === undefined ? EXPRESSION_INDEX_NOTE : undefined;
  const migrationName = `${nextTimestamp(existing, options.now ?? new Date())}_${name}`;
  const header = [
    `-- Filter index "${name}" (${options.kind}${resolved.key ? ` on key ${resolved.key.join('.')}` : ''}) on ${model.table}.${field.column}, written by \`prisma-pgvector migration index\`.`,
    prismaLine === undefined
      ? `-- ${note}.`
      : `-- Mirrored in schema.prisma (model ${model.name}) by:\n--   ${prismaLine}`,
    '-- Not CONCURRENTLY: a migration cannot use it. For a big, busy table run the same statement with',
    `-- CREATE INDEX CONCURRENTLY by hand, then: prisma migrate resolve --applied ${migrationName}`,
  ];
  const sql = `${header.join('\n')}\n${ddl};\n`;
  const { migrationFile, applied, schemaFile } = writeMigration(
    project,
    options,
    model,
    migrationName,
    sql,
    prismaLine,
  );
  return {
    kind: options.kind,
    migrationName,
    migrationFile,
    sql,
    ddl,
    prismaLine,
    note,
    indexDefinition: scratch.definition,
    model: model.name,
    table: model.table,
    applied,
    schemaFile,
  };
}

/** The project a migration is written into: its schema (read once) and its migrations folder. */
interface MigrationProject {
  readonly schemaFile: string;
  readonly schemaText: string;
  readonly models: readonly PrismaModel[];
  readonly migrationsDir: string;
}

function openProject(options: MigrationProjectOptions): MigrationProject {
  const cwd = resolve(options.cwd ?? process.cwd());
  const schemaFile = resolve(cwd, options.schema ?? 'prisma/schema.prisma');
  const schemaText = readFileSync(schemaFile, 'utf8');
  return {
    schemaFile,
    schemaText,
    models: parsePrismaModels(schemaText),
    migrationsDir: resolve(cwd, options.migrations ?? 'prisma/migrations'),
  };
}

/** An index name is also a migration folder's suffix: letters, digits and `_`. */
function checkIndexName(name: string, fix: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new PgVectorError('INVALID_CONFIG', `index name '${name}' must be letters, digits and _`, { fix });
  }
}

function checkNameFree(model: PrismaModel, name: string): void {
  if (model.body.includes(`map: "${name}"`)) {
    throw new PgVectorError('INVALID_CONFIG', `${model.name} already has an index named "${name}"`, {
      fix: 'choose another --name',
    });
  }
}

/** The migration folders, sorted; the folder must exist. */
function existingMigrations(migrationsDir: string): string[] {
  if (!existsSync(migrationsDir)) {
    throw new PgVectorError('INVALID_CONFIG', `The migrations folder ${migrationsDir} does not exist.`, {
      fix: 'run from the project root, or pass --migrations <dir> (Prisma 7: migrations.path in prisma.config.ts)',
    });
  }
  return readdirSync(migrationsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** Writes `<migrations>/<name>/migration.sql`, and with `apply` the `@@index` line (when there is one). */
function writeMigration(
  project: MigrationProject,
  options: MigrationProjectOptions,
  model: PrismaModel,
  migrationName: string,
  sql: string,
  prismaLine: string | undefined,
): { migrationFile: string; applied: boolean; schemaFile: string } {
  const dir = join(project.migrationsDir, migrationName);
  mkdirSync(dir);
  const migrationFile = join(dir, 'migration.sql');
  writeFileSync(migrationFile, sql);
  const applied = options.apply === true && prismaLine !== undefined;
  if (applied) writeFileSync(project.schemaFile, insertLine(project.schemaText, model, prismaLine));
  return { migrationFile, applied, schemaFile: project.schemaFile };
}

function usingPart(definition: string): string {
  const at = definition.lastIndexOf(' USING ');
  return at < 0 ? definition : definition.slice(at);
}

async function renderInScratch(
  migrationsDir: string,
  migrations: readonly string[],
  ddl: string,
  name: string,
): Promise<{ predicate: string | undefined; definition: string; equivalents: string[] }> {
  // The embedded database (an optional peer dependency) is loaded here, not when this module is imported.
  const { startEmbeddedServer } = await loadEmbeddedServer('createIndexMigration');
  const server = await startEmbeddedServer({ port: 0, memory: true });
  const client = new pg.Client({ connectionString: server.url });
  try {
    await client.connect();
    for (const dir of migrations) {
      let text: string;
      try {
        text = readFileSync(join(migrationsDir, dir, 'migration.sql'), 'utf8');
      } catch {
        continue;
      }
      try {
        await client.query(text); // simple query protocol: the whole script, as Prisma runs it
      } catch (error) {
        throw new PgVectorError(
          'DATABASE_ERROR',
          `migration ${dir} failed on a scratch database: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error, fix: 'fix the migrations first (`prisma migrate deploy` on a fresh database)' },
        );
      }
    }
    try {
      await client.query(ddl);
    } catch (error) {
      const e = error as { message?: string; hint?: string; code?: string };
      throw new PgVectorError(
        'INVALID_CONFIG',
        `pgvector refused the index on a scratch database: ${e.message}`,
        {
          cause: error,
          server: { sqlState: e.code, hint: e.hint, serverMessage: e.message },
          ...(e.hint ? { fix: e.hint } : {}),
        },
      );
    }
    const { rows } = await client.query<{ predicate: string | null; definition: string }>(
      `SELECT pg_get_expr(i.indpred, i.indrelid) AS predicate, pg_get_indexdef(i.indexrelid) AS definition
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relname = $1 AND c.relnamespace = 'public'::regnamespace`,
      [name],
    );
    const row = rows[0];
    if (row === undefined)
      throw new PgVectorError('DATABASE_ERROR', `index ${name} not found after creating it`);
    // Other valid, non-partial indexes on the same table with the same definition (from ` USING ` on).
    const { rows: same } = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = (SELECT indrelid FROM pg_index x JOIN pg_class y ON y.oid = x.indexrelid
                             WHERE y.relname = $1 AND y.relnamespace = 'public'::regnamespace)
          AND c.relname <> $1 AND i.indpred IS NULL AND i.indisvalid
          AND substr(pg_get_indexdef(c.oid), length(pg_get_indexdef(c.oid)) - $2 + 1) = $3`,
      [name, usingPart(row.definition).length, usingPart(row.definition)],
    );
    return {
      predicate: row.predicate ?? undefined,
      definition: row.definition,
      equivalents: row.predicate === null ? same.map((r) => r.name) : [],
    };
  } finally {
    await client.end().catch(() => {});
    await server.stop();
  }
}
