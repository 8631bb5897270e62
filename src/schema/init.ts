/**
 * `prisma-pgvector init`: sets a vector store up in an existing Prisma 7 project — the model (or an embedding
 * column on a model of yours), the generator's `partialIndexes` preview feature when partial indexes are
 * asked for, hand-written migrations (extension, table or columns, vector indexes) with the drift-safe
 * `@@index([embedding], map: "…")` lines, `migration_lock.toml`, `.data/` in `.gitignore`, and optionally the
 * offline schema engine in `prisma.config.ts`.
 *
 * The whole run happens first in a sandbox copy of the files it may touch; the result is the plan (new and
 * changed files, with their diffs). `--dry-run` prints it; otherwise the files are written. The vector index
 * migrations come from {@link createIndexMigration} (which proves the DDL on a scratch database and reads
 * the partial predicate back in PostgreSQL's rendering) and the DDL from `indexes.ts`: this file writes no
 * index SQL of its own. A second run finds every step done and changes nothing.
 */

import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { raw } from '@prisma/client/runtime/client';
import { PgVectorError } from '../core/errors.js';
import { partialIndexPredicateSql } from '../core/filter.js';
import { type IndexMethod, type Metric, opclassFor, parseMetric, type VectorType } from '../core/metric.js';
import { MAX_DIMENSIONS } from '../core/vector.js';
import {
  defaultIndexName,
  INDEX_DIMENSION_LIMITS,
  type IndexSpec,
  quoteIdentifier,
  resolveIndexSpec,
} from '../indexes/index-spec.js';
import { createIndexMigration, parsePrismaModels } from '../indexes/migration.js';
import type { IdType } from '../store/config.js';

/** Index method of `init`: `none` writes no vector index (build one later with `migration index`). */
export type InitIndexMethod = IndexMethod | 'none';

/** A partial index on `metadata->>key = value` (the store writes the same predicate for that filter). */
export interface InitPartialIndex {
  readonly key: string;
  readonly value: string;
}

export interface InitOptions {
  /** Project directory. Default `process.cwd()`. */
  readonly cwd?: string | undefined;
  /** Schema file (relative to `cwd`); default: `schema` of prisma.config.ts, else prisma/schema.prisma. */
  readonly schema?: string | undefined;
  /** Create prisma.config.ts and the schema (datasource + generator only) when the project has none. */
  readonly prisma?: boolean | undefined;
  /** Model name. Default `Document`. An existing model without the column gets the column (and what the store needs). */
  readonly model?: string | undefined;
  /** Table of a new model (`@@map`). Default: the model's name in snake case + `s` (`Document` → `documents`). */
  readonly table?: string | undefined;
  /** The vector field (= column). Default `embedding`. */
  readonly column?: string | undefined;
  /** The content field of an existing model. Default `content`. */
  readonly contentField?: string | undefined;
  /** Default 1536. */
  readonly dimensions?: number | undefined;
  /** Default `vector`. */
  readonly vectorType?: VectorType | undefined;
  /** Default `cosine` (`hamming` for bit). */
  readonly metric?: Metric | undefined;
  /** Default `hnsw`. */
  readonly index?: InitIndexMethod | undefined;
  readonly m?: number | undefined;
  readonly efConstruction?: number | undefined;
  readonly lists?: number | undefined;
  /** Partial indexes (`--partial type=article`). */
  readonly partial?: readonly InitPartialIndex[] | undefined;
  /** Id type of a new model. Default `text`. */
  readonly idType?: IdType | undefined;
  /** Call `useOfflineSchemaEngine()` in prisma.config.ts. */
  readonly offlineEngine?: boolean | undefined;
  /** Migration timestamps (UTC). Default now. */
  readonly now?: Date | undefined;
  /** Folder of the templates; default: the package's `templates/init`. */
  readonly templatesDir?: string | undefined;
}

/** One file the run creates or changes. */
export interface InitFileChange {
  /** Relative to the project directory, `/`-separated. */
  readonly path: string;
  readonly kind: 'create' | 'modify';
  readonly before: string | undefined;
  readonly after: string;
}

export interface InitPlan {
  /** The project directory. */
  readonly cwd: string;
  readonly changes: readonly InitFileChange[];
  /** What each step found or did, in order (`done`: nothing to do). */
  readonly steps: readonly { readonly step: string; readonly done: boolean; readonly detail: string }[];
  /** Warnings (e.g. IVFFlat on an empty table). */
  readonly warnings: readonly string[];
  /** The `createVectorStore` options that match the model. */
  readonly storeConfig: Readonly<Record<string, unknown>>;
  readonly model: string;
  readonly table: string;
}

const ID_FIELDS: Record<IdType, { field: string; column: string }> = {
  text: {
    field: 'String @id @default(dbgenerated("(gen_random_uuid())::text"))',
    column: 'TEXT NOT NULL DEFAULT (gen_random_uuid())::text',
  },
  uuid: {
    field: 'String @id @default(dbgenerated("gen_random_uuid()")) @db.Uuid',
    column: 'UUID NOT NULL DEFAULT gen_random_uuid()',
  },
  int: { field: 'Int @id @default(autoincrement())', column: 'SERIAL NOT NULL' },
  bigint: { field: 'BigInt @id @default(autoincrement())', column: 'BIGSERIAL NOT NULL' },
};

function initError(message: string, fix?: string): PgVectorError {
  return new PgVectorError('INVALID_CONFIG', message, fix === undefined ? {} : { fix });
}

/** The package's `templates/init`, found from the running CLI or the project's installed package. */
export function findTemplatesDir(cwd: string): string {
  const starts: string[] = [];
  if (process.argv[1]) {
    try {
      starts.push(dirname(realpathSync(process.argv[1])));
    } catch {}
  }
  starts.push(join(cwd, 'node_modules', 'prisma-pgvector'));
  for (const start of starts) {
    for (let dir = start; ; dir = dirname(dir)) {
      const candidate = join(dir, 'templates', 'init');
      if (existsSync(join(candidate, 'model.prisma'))) return candidate;
      if (dirname(dir) === dir) break;
    }
  }
  throw initError('the templates of prisma-pgvector init were not found', 'reinstall prisma-pgvector');
}

function fill(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template placeholder {{${name}}} has no value`);
    return value;
  });
}

/** `Document` → `documents`, `DocChunk` → `doc_chunks`. */
export function defaultTableName(model: string): string {
  return `${model.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}s`;
}

const CONFIG_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];
/**
 * Prisma's config file names in the order `@prisma/config` 7.10 looks for them: `prisma7.config.*` (what
 * `prisma init` 7.10 writes) first, then the older `prisma.config.*`.
 */
const CONFIG_FILE_CANDIDATES = [
  ...CONFIG_EXTENSIONS.map((e) => `prisma7.config${e}`),
  ...CONFIG_EXTENSIONS.map((e) => join('.config', `prisma7${e}`)),
  ...['prisma.config', join('.config', 'prisma'), join('.config', 'prisma.config')].flatMap((base) =>
    CONFIG_EXTENSIONS.map((e) => `${base}${e}`),
  ),
];

/** Where the project keeps its schema and migrations, read from its Prisma config file (or `--schema`). */
export function locateProject(
  cwd: string,
  schemaOption?: string,
): { configFile: string | undefined; schemaFile: string; migrationsDir: string } {
  const configFile = CONFIG_FILE_CANDIDATES.map((f) => join(cwd, f)).find((f) => existsSync(f));
  const config = configFile === undefined ? '' : readFileSync(configFile, 'utf8');
  const base = configFile === undefined ? cwd : dirname(configFile);
  const fromConfig = /\bschema\s*:\s*['"`]([^'"`]+)['"`]/.exec(config)?.[1];
  const schemaFile = resolve(
    schemaOption === undefined ? base : cwd,
    schemaOption ?? fromConfig ?? 'prisma/schema.prisma',
  );
  const migrationsFromConfig = /\bmigrations\s*:\s*\{[^}]*?\bpath\s*:\s*['"`]([^'"`]+)['"`]/s.exec(
    config,
  )?.[1];
  const migrationsDir =
    migrationsFromConfig === undefined
      ? join(statIsDir(schemaFile) ? schemaFile : dirname(schemaFile), 'migrations')
      : resolve(base, migrationsFromConfig);
  return { configFile, schemaFile, migrationsDir };
}

function statIsDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function rel(cwd: string, path: string): string {
  const r = relative(cwd, path);
  if (r.startsWith('..') || isAbsolute(r)) {
    throw initError(`${path} is outside the project directory ${cwd}`, 'run init from the project root');
  }
  return r.split(sep).join('/');
}

/** Every migration.sql of the folder, joined (to see what earlier migrations created). */
function migrationsText(dir: string): string {
  if (!existsSync(dir)) return '';
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(dir, d.name, 'migration.sql'))
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** `now` as a migration timestamp, or one second after the latest migration when that is later. */
function nextTimestamp(migrationsDir: string, now: Date): string {
  const latest = existsSync(migrationsDir)
    ? readdirSync(migrationsDir)
        .map((d) => /^(\d{14})_/.exec(d)?.[1])
        .filter((x): x is string => x !== undefined)
        .sort()
        .at(-1)
    : undefined;
  const ts = timestamp(now);
  if (latest === undefined || ts > latest) return ts;
  const at = (from: number, to: number) => Number(latest.slice(from, to));
  return timestamp(
    new Date(Date.UTC(at(0, 4), at(4, 6) - 1, at(6, 8), at(8, 10), at(10, 12), at(12, 14)) + 1000),
  );
}

/** The generator block's preview features: adds `partialIndexes`; returns the text unchanged when present. */
function withPartialIndexesFeature(schema: string): string {
  const gen = /^generator\s+\w+\s*\{[^}]*\}/m.exec(schema);
  if (gen === null)
    throw initError(
      'the schema has no generator block',
      'add `generator client { provider = "prisma-client" }`',
    );
  const block = gen[0];
  const features = /previewFeatures\s*=\s*\[([^\]]*)\]/.exec(block);
  let next: string;
  if (features === null) {
    next = block.replace(/\n?\}$/, '\n  previewFeatures = ["partialIndexes"]\n}');
  } else if (/"partialIndexes"/.test(features[1] ?? '')) {
    return schema;
  } else {
    const list = (features[1] ?? '').trim();
    next = block.replace(
      features[0],
      `previewFeatures = [${list === '' ? '' : `${list}, `}"partialIndexes"]`,
    );
  }
  return schema.slice(0, gen.index) + next + schema.slice(gen.index + block.length);
}

/** Inserts field lines into a model body: before its first `@@` line (and the blank line above it), else before `}`. */
function insertFields(schema: string, modelName: string, lines: readonly string[]): string {
  const model = parsePrismaModels(schema).find((m) => m.name === modelName);
  if (model === undefined) throw new Error(`model ${modelName} vanished`);
  const body = model.body.split('\n');
  let at = body.findIndex((l, i) => i > 0 && /^\s*@@/.test(l));
  if (at < 0) at = body.length - 1;
  while (at > 1 && (body[at - 1] ?? '').trim() === '') at -= 1;
  body.splice(at, 0, ...lines.map((l) => `  ${l}`));
  return schema.slice(0, model.start) + body.join('\n') + schema.slice(model.end);
}

interface ResolvedInit {
  readonly model: string;
  readonly column: string;
  readonly dimensions: number;
  readonly vectorType: VectorType;
  readonly metric: Metric;
  readonly index: InitIndexMethod;
  readonly m: number | undefined;
  readonly efConstruction: number | undefined;
  readonly lists: number | undefined;
  readonly partial: readonly InitPartialIndex[];
  readonly idType: IdType;
}

/** Validates the options before anything is touched (pgvector's limits, metrics per type, names). */
function resolveOptions(options: InitOptions): ResolvedInit {
  const model = options.model ?? 'Document';
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(model))
    throw initError(`model name '${model}' must be letters, digits and _, starting with a letter`);
  const column = options.column ?? 'embedding';
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(column))
    throw initError(`column name '${column}' must be letters, digits and _`);
  const vectorType = options.vectorType ?? 'vector';
  const dimensions = options.dimensions ?? 1536;
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_DIMENSIONS[vectorType]) {
    throw initError(
      `dimensions must be an integer from 1 to ${MAX_DIMENSIONS[vectorType]} for ${vectorType}, got ${dimensions}`,
    );
  }
  const metric = parseMetric(options.metric ?? (vectorType === 'bit' ? 'hamming' : 'cosine'));
  const index = options.index ?? 'hnsw';
  const partial = options.partial ?? [];
  if (index === 'none') {
    if (partial.length > 0)
      throw initError('partial indexes need an index method', 'use --index hnsw (or ivfflat)');
    if (options.m !== undefined || options.efConstruction !== undefined || options.lists !== undefined) {
      throw initError(
        'index parameters given with --index none',
        'remove them, or choose --index hnsw|ivfflat',
      );
    }
    opclassFor(metric, vectorType, 'hnsw');
  } else {
    try {
      resolveIndexSpec({
        table: 't',
        column,
        method: index,
        type: vectorType,
        dimensions,
        metric,
        m: options.m,
        efConstruction: options.efConstruction,
        lists: options.lists,
      });
    } catch (error) {
      if (error instanceof PgVectorError && error.code === 'INDEX_DIMENSION_LIMIT') {
        const fix =
          vectorType === 'vector' && dimensions <= INDEX_DIMENSION_LIMITS.halfvec
            ? `use --vector-type halfvec (half precision, indexes up to ${INDEX_DIMENSION_LIMITS.halfvec} dimensions), or a model with at most ${INDEX_DIMENSION_LIMITS.vector} dimensions, or --index none`
            : vectorType === 'vector' || vectorType === 'halfvec'
              ? `use a model with fewer dimensions (an index takes at most ${INDEX_DIMENSION_LIMITS.halfvec} as halfvec), or --index none and a binary_quantize expression index (\`prisma-pgvector migration index --expression binary_quantize\`)`
              : 'use fewer dimensions, or --index none';
        throw new PgVectorError('INDEX_DIMENSION_LIMIT', error.message.split('\nFix:')[0] ?? error.message, {
          fix,
        });
      }
      throw error;
    }
  }
  for (const p of partial) partialIndexPredicateSql(raw('"metadata"'), p); // throws on a bad key or value
  const keys = partial.map((p) => `${p.key}=${p.value}`);
  if (new Set(keys).size !== keys.length) throw initError('the same --partial filter is given twice');
  return {
    model,
    column,
    dimensions,
    vectorType,
    metric,
    index,
    m: options.m,
    efConstruction: options.efConstruction,
    lists: options.lists,
    partial,
    idType: options.idType ?? 'text',
  };
}

/** The vector indexes init writes: the main one (unless `none`) and one per partial filter. */
function indexSpecs(
  o: ResolvedInit,
  table: string,
  metadataColumn: string,
): (IndexSpec & { readonly name: string; readonly where?: string })[] {
  if (o.index === 'none') return [];
  const base = {
    table,
    column: o.column,
    method: o.index,
    type: o.vectorType,
    dimensions: o.dimensions,
    metric: o.metric,
    m: o.m,
    efConstruction: o.efConstruction,
    lists: o.lists,
  };
  const specs = [{ ...base, name: defaultIndexName(base) }];
  for (const p of o.partial) {
    const where = partialIndexPredicateSql(raw(quoteIdentifier(metadataColumn)), p).text;
    const hashed = defaultIndexName({ ...base, where });
    // `documents_embedding_type_article_hnsw_idx` when that is a plain identifier of ≤ 63 bytes.
    const prefix = `${table}_${o.column}_`;
    const readable = defaultIndexName(base).replace(prefix, `${prefix}${p.key}_${p.value}_`);
    const name =
      /^[A-Za-z_][A-Za-z0-9_]*$/.test(readable) && Buffer.byteLength(readable) <= 63 ? readable : hashed;
    specs.push({ ...base, name, where } as (typeof specs)[number]);
  }
  return specs;
}

/** Walks a folder: relative paths of its files. */
function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const path = prefix === '' ? d.name : `${prefix}/${d.name}`;
    if (d.isDirectory()) out.push(...listFiles(join(dir, d.name), path));
    else out.push(path);
  }
  return out;
}

/**
 * Plans `init`: runs every step in a sandbox copy of the files it may touch and returns what changed.
 * Nothing in the project is written; {@link applyInitPlan} writes the plan.
 *
 * ### Examples
 * ```ts
 * const plan = await planInit({ cwd: '/app', dimensions: 768, partial: [{ key: 'type', value: 'article' }] });
 * plan.changes.map((c) => c.path);
 * // ['prisma/schema.prisma', 'prisma/migrations/20261201120000_prisma_pgvector_documents/migration.sql', …]
 * ```
 */
export async function planInit(options: InitOptions = {}): Promise<InitPlan> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const o = resolveOptions(options);
  const templates = options.templatesDir ?? findTemplatesDir(cwd);
  const template = (name: string) => readFileSync(join(templates, name), 'utf8');
  const located = locateProject(cwd, options.schema);
  const now = options.now ?? new Date();
  const steps: { step: string; done: boolean; detail: string }[] = [];
  const warnings: string[] = [];

  const creatingPrisma = !existsSync(located.schemaFile);
  if (creatingPrisma && !options.prisma) {
    throw initError(
      `no Prisma project found in ${cwd}: no ${rel(cwd, located.schemaFile)}${located.configFile ? '' : ' and no prisma.config.ts'}`,
      'run it from the project root; pass --schema <file>; or let init create the Prisma files: prisma-pgvector init --prisma',
    );
  }
  if (statIsDir(located.schemaFile)) {
    throw initError(
      `the schema ${rel(cwd, located.schemaFile)} is a folder (multi-file schema)`,
      'pass --schema <the .prisma file that holds the generator and should hold the model>',
    );
  }

  const sandbox = mkdtempSync(join(tmpdir(), 'prisma-pgvector-init-'));
  try {
    const configPath = located.configFile ?? join(cwd, 'prisma.config.ts');
    const files = {
      config: rel(cwd, configPath),
      schema: rel(cwd, located.schemaFile),
      migrations: rel(cwd, located.migrationsDir),
      gitignore: '.gitignore',
    };
    for (const path of [files.config, files.schema, files.gitignore]) {
      const from = join(cwd, path);
      if (existsSync(from)) {
        mkdirSync(dirname(join(sandbox, path)), { recursive: true });
        cpSync(from, join(sandbox, path));
      }
    }
    if (existsSync(located.migrationsDir))
      cpSync(located.migrationsDir, join(sandbox, files.migrations), { recursive: true });
    const sb = (path: string) => join(sandbox, path);

    // 1. The Prisma files themselves (--prisma), when the project has none.
    if (creatingPrisma) {
      mkdirSync(dirname(sb(files.schema)), { recursive: true });
      writeFileSync(sb(files.schema), template('schema.prisma'));
      steps.push({ step: 'prisma', done: false, detail: `create ${files.schema} (datasource + generator)` });
    }
    if (!existsSync(sb(files.config))) {
      if (!options.prisma && !creatingPrisma) {
        warnings.push(
          'no prisma.config.ts: Prisma 7 reads the datasource URL from it; run `prisma-pgvector init --prisma` or `prisma init`',
        );
      } else {
        const migrationsRel = rel(dirname(configPath), located.migrationsDir);
        writeFileSync(
          sb(files.config),
          fill(template('prisma.config.ts.tmpl'), {
            schema: rel(dirname(configPath), located.schemaFile),
            migrations: migrationsRel,
          }),
        );
        steps.push({
          step: 'prisma',
          done: false,
          detail: `create ${files.config} (with the offline schema engine)`,
        });
      }
    }

    // 2. The model, or the columns on an existing model.
    let schema = readFileSync(sb(files.schema), 'utf8');
    const models = parsePrismaModels(schema);
    const existing = models.find((m) => m.name === o.model);
    const vectorFieldType = `Unsupported("${o.vectorType}(${o.dimensions})")?`;
    const vectorColumnSql = `${o.vectorType}(${o.dimensions})`;
    const migrationsSoFar = () => migrationsText(sb(files.migrations));
    let table: string;
    let migrationSql: string | undefined;
    const storeColumns: Record<string, string> = {};
    let idType: IdType = o.idType;
    if (existing === undefined) {
      table = options.table ?? defaultTableName(o.model);
      quoteIdentifier(table, 'table name');
      const clash = models.find((m) => m.table === table);
      if (clash) {
        throw initError(
          `model ${clash.name} already maps to the table "${table}"`,
          `pass --model ${clash.name} to add the column to it, or --table <another name>`,
        );
      }
      const idField = ID_FIELDS[o.idType];
      const pad = (name: string) => name.padEnd(9);
      const embeddingField = `${pad(o.column)} ${vectorFieldType}`;
      schema = `${schema.replace(/\n*$/, '\n')}${fill(template('model.prisma'), {
        model: o.model,
        idField: idField.field,
        embeddingField,
        table,
      })}`;
      steps.push({
        step: 'model',
        done: false,
        detail: `add model ${o.model} (table "${table}", ${vectorColumnSql}, id ${o.idType})`,
      });
      if (
        !new RegExp(`CREATE TABLE\\s+(IF NOT EXISTS\\s+)?("public"\\.)?"${esc(table)}"`).test(
          migrationsSoFar(),
        )
      ) {
        migrationSql = fill(template('table.sql'), {
          model: o.model,
          qtable: quoteIdentifier(table),
          idColumn: idField.column,
          qcontent: '"content"',
          qmetadata: '"metadata"',
          qembedding: quoteIdentifier(o.column),
          vectorColumn: vectorColumnSql,
          qcreatedAt: '"created_at"',
          qpkey: quoteIdentifier(`${table}_pkey`),
        });
      }
      if (o.column !== 'embedding') storeColumns.embedding = o.column;
    } else {
      table = existing.table;
      if (options.table !== undefined && options.table !== table) {
        throw initError(
          `model ${o.model} maps to the table "${table}", not "${options.table}"`,
          'drop --table, or choose another --model',
        );
      }
      const lines = existing.body.split('\n').map((l) => l.replace(/\/\/.*$/, '').trim());
      const fieldLine = (name: string) => lines.find((l) => new RegExp(`^${esc(name)}\\s`).test(l));
      const field = (name: string) => existing.fields.find((f) => f.name === name);
      // The id.
      const idLine = lines.find((l) => /^\w+\s+\S+.*@id\b/.test(l));
      if (idLine === undefined) {
        throw initError(
          `model ${o.model} has no single @id field`,
          'the store needs a one-column primary key (text, uuid, int or bigint)',
        );
      }
      const [, idName = '', idPrismaType = ''] = /^(\w+)\s+(\S+)/.exec(idLine) ?? [];
      const foundId: IdType | undefined =
        idPrismaType === 'String'
          ? /@db\.Uuid\b/.test(idLine)
            ? 'uuid'
            : 'text'
          : idPrismaType === 'Int'
            ? 'int'
            : idPrismaType === 'BigInt'
              ? 'bigint'
              : undefined;
      if (foundId === undefined)
        throw initError(
          `${o.model}.${idName} is ${idPrismaType}; the store takes text, uuid, int or bigint ids`,
        );
      if (options.idType !== undefined && options.idType !== foundId) {
        throw initError(
          `model ${o.model} exists with a ${foundId} id, not ${options.idType}`,
          `drop --id-type (the model's id is used), or choose another --model`,
        );
      }
      idType = foundId;
      const idColumn = field(idName)?.column ?? idName;
      if (idColumn !== 'id') storeColumns.id = idColumn;
      // The content.
      const contentName = options.contentField ?? 'content';
      const content = field(contentName);
      if (content === undefined || !/^String\??$/.test(content.type)) {
        throw initError(
          `model ${o.model} has no String field '${contentName}' for the text of each document`,
          `pass --content-field <a String field of ${o.model}>`,
        );
      }
      if (content.column !== 'content') storeColumns.content = content.column;
      const added: string[] = [];
      const addColumns: string[] = [];
      // metadata
      const metadata = field('metadata');
      if (metadata === undefined) {
        added.push('metadata  Json?');
        addColumns.push('ADD COLUMN "metadata" JSONB');
      } else if (metadata.type !== 'Json?' && metadata.type !== 'Json') {
        throw initError(
          `${o.model}.metadata is ${metadata.type}; the store keeps metadata in a Json field`,
          'rename that field, or map another model',
        );
      } else if (metadata.column !== 'metadata') storeColumns.metadata = metadata.column;
      // createdAt
      const createdAt = field('createdAt');
      if (createdAt === undefined) {
        added.push('createdAt DateTime @default(now()) @map("created_at")');
        addColumns.push('ADD COLUMN "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP');
      } else if (
        !/^DateTime\??$/.test(createdAt.type) ||
        !/@default\(now\(\)\)/.test(fieldLine('createdAt') ?? '')
      ) {
        throw initError(
          `${o.model}.createdAt must be DateTime @default(now()) for the store`,
          'change the field, or map another model',
        );
      } else if (createdAt.column !== 'created_at') storeColumns.createdAt = createdAt.column;
      // the vector column
      const vector = field(o.column);
      if (vector === undefined) {
        added.push(`${o.column} ${vectorFieldType}`);
        addColumns.push(`ADD COLUMN ${quoteIdentifier(o.column)} ${vectorColumnSql}`);
      } else if (vector.type !== vectorFieldType) {
        throw initError(
          `model ${o.model} exists with ${o.column} ${vector.type}, not ${vectorFieldType}`,
          `run init with the model's shape (--vector-type / --dimensions), choose another --column, or change the model and its migrations first`,
        );
      } else if (vector.column !== o.column) storeColumns.embedding = vector.column;
      if (added.length > 0) {
        schema = insertFields(schema, o.model, added);
        steps.push({
          step: 'model',
          done: false,
          detail: `add to model ${o.model}: ${added.map((a) => a.split(/\s+/)[0]).join(', ')}`,
        });
        migrationSql = fill(template('column.sql'), {
          model: o.model,
          statements: `ALTER TABLE ${quoteIdentifier(table)} ${addColumns.join(',\n    ')};`,
        });
      } else {
        steps.push({
          step: 'model',
          done: true,
          detail: `model ${o.model} has ${o.column} ${vectorFieldType}`,
        });
        const columnSeen = new RegExp(`"${esc(vector?.column ?? o.column)}"\\s+${esc(vectorColumnSql)}`).test(
          migrationsSoFar(),
        );
        if (!columnSeen) {
          throw initError(
            `model ${o.model} has ${o.column} but no migration creates the column "${vector?.column ?? o.column}" ${vectorColumnSql}`,
            'write that migration (prisma migrate dev --create-only), then run init again',
          );
        }
      }
    }
    if (existing === undefined && migrationSql === undefined) {
      steps.push({ step: 'migration', done: true, detail: `a migration creates "${table}"` });
    }

    // 3. The migration: extension + table (or columns).
    const hasExtension = /CREATE EXTENSION[^;]*\bvector\b/i.test(migrationsSoFar());
    if (migrationSql !== undefined) {
      const name = `${nextTimestamp(sb(files.migrations), now)}_prisma_pgvector_${existing === undefined ? table : `${table}_${o.column}`}`;
      mkdirSync(join(sb(files.migrations), name), { recursive: true });
      writeFileSync(
        join(sb(files.migrations), name, 'migration.sql'),
        (hasExtension ? '' : template('extension.sql')) + migrationSql,
      );
      steps.push({
        step: 'migration',
        done: false,
        detail: `${files.migrations}/${name}${hasExtension ? '' : ' (CREATE EXTENSION vector, then'} ${existing === undefined ? 'CREATE TABLE' : 'ALTER TABLE'}${hasExtension ? '' : ')'}`,
      });
    } else if (!hasExtension) {
      throw initError(
        'no migration runs CREATE EXTENSION vector',
        'add `CREATE EXTENSION IF NOT EXISTS vector;` to the migration that creates the table',
      );
    }

    // 4. The generator's preview feature, then the vector indexes (migration + @@index line each).
    if (o.partial.length > 0) {
      const next = withPartialIndexesFeature(schema);
      steps.push({
        step: 'preview feature',
        done: next === schema,
        detail: 'generator previewFeatures has "partialIndexes"',
      });
      schema = next;
    }
    writeFileSync(sb(files.schema), schema);
    const lockFile = join(sb(files.migrations), 'migration_lock.toml');
    if (!existsSync(lockFile)) {
      mkdirSync(sb(files.migrations), { recursive: true });
      writeFileSync(
        lockFile,
        '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
      );
      steps.push({
        step: 'lock',
        done: false,
        detail: `${files.migrations}/migration_lock.toml (provider = "postgresql")`,
      });
    } else {
      const provider = /provider\s*=\s*"([^"]+)"/.exec(readFileSync(lockFile, 'utf8'))?.[1];
      if (provider !== undefined && provider !== 'postgresql') {
        throw initError(
          `the migrations are for ${provider} (migration_lock.toml), not postgresql`,
          'pgvector needs PostgreSQL',
        );
      }
      steps.push({ step: 'lock', done: true, detail: 'migration_lock.toml' });
    }
    const specs = indexSpecs(o, table, storeColumns.metadata ?? 'metadata');
    for (const spec of specs) {
      const inMigrations = new RegExp(
        `CREATE INDEX\\s+(CONCURRENTLY\\s+)?(IF NOT EXISTS\\s+)?"${esc(spec.name)}"`,
      ).test(migrationsSoFar());
      const model = parsePrismaModels(readFileSync(sb(files.schema), 'utf8')).find((m) => m.name === o.model);
      const inSchema = model?.body.includes(`map: "${spec.name}"`) ?? false;
      if (inMigrations && inSchema) {
        steps.push({ step: 'index', done: true, detail: `${spec.name} (migration and @@index line)` });
        continue;
      }
      if (inMigrations || inSchema) {
        throw initError(
          `the index ${spec.name} is ${inMigrations ? 'in a migration but has no @@index line' : 'in the schema but no migration creates it'}`,
          inMigrations
            ? `add @@index([${o.column}], map: "${spec.name}"${spec.where ? ', where: raw("…")' : ''}) to model ${o.model} (\`prisma migrate diff\` prints the predicate)`
            : `remove the line and run init again, or write the migration with prisma-pgvector migration index --name ${spec.name}`,
        );
      }
      const written = await createIndexMigration({
        name: spec.name,
        column: o.column,
        table,
        method: spec.method,
        metric: spec.metric,
        m: spec.m,
        efConstruction: spec.efConstruction,
        lists: spec.lists,
        where: spec.where,
        cwd: sandbox,
        schema: files.schema,
        migrations: files.migrations,
        apply: true,
        now,
      });
      steps.push({
        step: 'index',
        done: false,
        detail: `${files.migrations}/${written.migrationName}: ${written.ddl}`,
      });
    }
    if (o.index === 'ivfflat' && specs.length > 0) {
      warnings.push(
        'IVFFlat trains its lists on the rows present when it is built: built by a migration on an empty table, it searches poorly. Prefer hnsw, or use --index none, load the data, then `prisma-pgvector build-index --method ivfflat`.',
      );
    }

    // 5. .gitignore and prisma.config.ts.
    const gitignore = existsSync(sb(files.gitignore)) ? readFileSync(sb(files.gitignore), 'utf8') : '';
    if (/^\/?\.data\/?\s*$/m.test(gitignore))
      steps.push({ step: 'gitignore', done: true, detail: '.gitignore has .data/' });
    else {
      writeFileSync(
        sb(files.gitignore),
        `${gitignore}${gitignore === '' || gitignore.endsWith('\n') ? '' : '\n'}# prisma-pgvector db: the embedded database's files\n.data/\n`,
      );
      steps.push({
        step: 'gitignore',
        done: false,
        detail: 'add .data/ to .gitignore (the embedded database of `prisma-pgvector db`)',
      });
    }
    if (options.offlineEngine && existsSync(sb(files.config))) {
      const config = readFileSync(sb(files.config), 'utf8');
      if (/\buseOfflineSchemaEngine\s*\(/.test(config)) {
        steps.push({
          step: 'offline engine',
          done: true,
          detail: `${files.config} calls useOfflineSchemaEngine()`,
        });
      } else {
        const importLine = "import { useOfflineSchemaEngine } from 'prisma-pgvector/schema-engine';";
        const imports = [...config.matchAll(/^import[^;]*;[ \t]*$/gm)];
        const last = imports.at(-1);
        let next =
          last === undefined
            ? `${importLine}\n\n${config}`
            : `${config.slice(0, (last.index ?? 0) + last[0].length)}\n${importLine}${config.slice((last.index ?? 0) + last[0].length)}`;
        const call =
          "// Where Prisma cannot download its native schema engine, use prisma-pgvector's bridge to its WASM engine.\nuseOfflineSchemaEngine();\n\n";
        const exportAt = next.search(/^export default/m);
        next = exportAt < 0 ? `${next}\n${call}` : next.slice(0, exportAt) + call + next.slice(exportAt);
        writeFileSync(sb(files.config), next);
        steps.push({
          step: 'offline engine',
          done: false,
          detail: `${files.config}: useOfflineSchemaEngine()`,
        });
      }
    }

    // The plan: every file of the sandbox that is new or different.
    const changes: InitFileChange[] = [];
    for (const path of [...new Set([...listFiles(sandbox)])].sort()) {
      const after = readFileSync(join(sandbox, path), 'utf8');
      const original = join(cwd, path);
      const before = existsSync(original) ? readFileSync(original, 'utf8') : undefined;
      if (before === after) continue;
      changes.push({ path, kind: before === undefined ? 'create' : 'modify', before, after });
    }
    const storeConfig: Record<string, unknown> = {};
    if (table !== 'documents') storeConfig.table = table;
    if (Object.keys(storeColumns).length > 0) storeConfig.columns = storeColumns;
    if (idType !== 'text') storeConfig.idType = idType;
    if (o.dimensions !== 1536) storeConfig.dimensions = o.dimensions;
    if (o.vectorType !== 'vector') storeConfig.vectorType = o.vectorType;
    if (o.metric !== 'cosine') storeConfig.metric = o.metric;
    if (o.index === 'ivfflat') storeConfig.indexMethod = 'ivfflat';
    storeConfig.partialIndexPredicates = o.partial.map((p) => ({ key: p.key, value: p.value }));
    return { cwd, changes, steps, warnings, storeConfig, model: o.model, table };
  } finally {
    rmSync(sandbox, { recursive: true, force: true });
  }
}

/** Writes the files of a plan. */
export function applyInitPlan(plan: InitPlan): void {
  for (const change of plan.changes) {
    const path = join(plan.cwd, change.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, change.after);
  }
}

/**
 * A line diff of two texts (`+` added, `-` removed, two lines of context, `@@` between hunks): the plan of
 * `init --dry-run`.
 */
export function lineDiff(before: string, after: string, context = 2): string {
  const a = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const b = after.replace(/\n$/, '').split('\n');
  // Longest common subsequence, then a walk that emits the edit script.
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i] as number[];
    const below = lcs[i + 1] as number[];
    for (let j = m - 1; j >= 0; j--)
      row[j] =
        a[i] === b[j] ? (below[j + 1] as number) + 1 : Math.max(below[j] as number, row[j + 1] as number);
  }
  const ops: { tag: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ tag: ' ', line: a[i++] as string });
      j++;
    } else if (i < n && (j >= m || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0)))
      ops.push({ tag: '-', line: a[i++] as string });
    else ops.push({ tag: '+', line: b[j++] as string });
  }
  const keep = ops.map(
    (op, k) =>
      op.tag !== ' ' || ops.slice(Math.max(0, k - context), k + context + 1).some((o) => o.tag !== ' '),
  );
  const out: string[] = [];
  let skipped = false;
  ops.forEach((op, k) => {
    if (keep[k]) {
      if (skipped && out.length > 0) out.push('@@');
      skipped = false;
      out.push(`${op.tag} ${op.line}`.trimEnd());
    } else skipped = true;
  });
  return out.join('\n');
}

/** The plan in words and diffs, as `init` prints it. */
export function formatInitPlan(
  plan: InitPlan,
  options: { readonly dryRun: boolean; readonly diffs: boolean },
): string {
  const out: string[] = [];
  if (plan.changes.length === 0) {
    out.push(`Nothing to do: model ${plan.model} (table "${plan.table}") is set up; no file changed.`);
  } else {
    out.push(options.dryRun ? 'Plan (--dry-run: nothing written):' : 'Done:');
    for (const s of plan.steps)
      out.push(`  ${s.done ? '=' : '+'} ${s.step}: ${s.detail}${s.done ? ' (already there)' : ''}`);
    out.push('', options.dryRun ? 'Files it would write:' : 'Files written:');
    for (const c of plan.changes) out.push(`  ${c.kind === 'create' ? 'new     ' : 'modified'} ${c.path}`);
    if (options.diffs) {
      for (const c of plan.changes) {
        out.push(
          '',
          `--- ${c.kind === 'create' ? '/dev/null' : c.path}`,
          `+++ ${c.path}`,
          lineDiff(c.before ?? '', c.after),
        );
      }
    }
  }
  for (const w of plan.warnings) out.push('', `Warning: ${w}`);
  if (plan.changes.length > 0 || !options.dryRun) {
    out.push(
      '',
      'Next:',
      '  npx prisma generate && npx prisma migrate deploy      # DATABASE_URL: your database, or `npx prisma-pgvector db`',
      '  npx prisma-pgvector drift                             # nothing for Prisma to change',
      '',
      'The store for this model:',
      `  const store = createVectorStore<Meta>(prisma, ${renderConfig({ pool: undefined, ...plan.storeConfig })});`,
    );
  }
  return out.join('\n');
}

function renderConfig(config: Readonly<Record<string, unknown>>): string {
  const parts = Object.entries(config).map(([k, v]) => (k === 'pool' ? 'pool' : `${k}: ${renderValue(v)}`));
  return `{ ${parts.join(', ')} }`;
}

function renderValue(value: unknown): string {
  if (typeof value === 'string') return `'${value.replaceAll("'", "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(renderValue).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${k}: ${renderValue(v)}`)
      .join(', ')} }`;
  }
  return String(value);
}
