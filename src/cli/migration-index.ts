import { parseArgs } from 'node:util';
import { FILTER_INDEX_KINDS, type FilterIndexKind } from '../indexes/filter-index.js';
import { createFilterIndexMigration, createIndexMigration } from '../indexes/migration.js';
import type { Command } from './command.js';
import {
  expressionOption,
  INDEX_SPEC_OPTIONS,
  intOption,
  methodOption,
  metricOption,
  runCommand,
  UsageError,
  wantsJson,
} from './index-options.js';

const help = `Usage: prisma-pgvector migration index --name N --column embedding [options]
       prisma-pgvector migration index --kind gin|string|text|number|created-at [--key K] [options]

Writes prisma/migrations/<UTC timestamp>_<name>/migration.sql creating a vector index, and prints the
@@index line that mirrors it in schema.prisma (inserted into the model with --apply), so that
\`prisma migrate dev\` never drops it. The DDL is first run on a scratch in-memory database with the
project's migrations applied: pgvector accepts it, and a partial index's predicate is taken in
PostgreSQL's own rendering (pg_get_expr), which is what Prisma compares.

The migration is NOT concurrent (Prisma runs migrations as one script; CREATE INDEX CONCURRENTLY cannot
run in a transaction). For a big, busy table: build the index with
  prisma-pgvector build-index --concurrently --name N …
then mark the migration applied: prisma migrate resolve --applied <migration folder>.

Filter indexes (--kind), for the store's metadata filters:
  gin         USING gin ("metadata" jsonb_path_ops): equality, in, contains on any key
              schema.prisma: @@index([metadata(ops: JsonbPathOps)], map: "…", type: Gin)
  string      B-tree on the key's text when it is a JSON string (NULL otherwise): string equality,
              in and ranges (ISO dates) on key K, exact with no per-row type test (advised for ranges)
  text        B-tree on ("metadata" ->> 'K'): text equality and ranges on key K; a condition on it
              carries a per-row type test (->> also reads numbers and booleans as text)
  number      B-tree on the key's numeric value (NULL unless a JSON number): numeric ranges on key K
              string, text, number: no @@index line (Prisma's introspection ignores expression
              indexes; a line would make migrate dev create a plain B-tree)
  created-at  B-tree on created_at: createdAt ranges; schema.prisma: @@index([createdAt], map: "…")
The name defaults to <table>_<column>_gin_idx, _<key>_str_idx, _<key>_idx, _<key>_num_idx,
<table>_created_at_idx.

Options:
  --name N                 index name, also the migration folder's suffix (required for vector indexes)
  --kind K                 vector (default) | gin | string | text | number | created-at
  --key K                  string/text/number: the metadata key (a.b for a nested one)
  --column C               the field (or @map column): default embedding, metadata, or createdAt
  --table T                model or table, when several models have the column
  --method hnsw|ivfflat    default hnsw
  --metric M               default cosine
  --m N --ef-construction N   HNSW parameters (default 16, 64)
  --lists N                IVFFlat lists
  --where SQL              partial index predicate: RAW SQL from you, never from untrusted input
  --expression E           halfvec | binary_quantize
  --schema FILE            default prisma/schema.prisma
  --migrations DIR         default prisma/migrations
  --apply                  insert the @@index line into the model in schema.prisma
  --json                   machine-readable result
Exit codes: 0 written, 1 refused, 2 bad options.`;

function kindOption(text: string | undefined): FilterIndexKind | 'vector' {
  if (text === undefined || text === 'vector') return 'vector';
  if (text === 'created-at') return 'createdAt';
  if ((FILTER_INDEX_KINDS as readonly string[]).includes(text) && text !== 'createdAt') {
    return text as FilterIndexKind;
  }
  throw new UsageError(`--kind must be vector, gin, string, text, number or created-at, got "${text}"`);
}

export const migrationCommand: Command = {
  name: 'migration',
  summary: 'migration index: write a drift-safe vector or filter index migration + its @@index line',
  help,
  run: (argv) =>
    runCommand('migration', wantsJson(argv), async () => {
      const [sub, ...rest] = argv;
      if (sub !== 'index') throw new UsageError(`unknown subcommand "${sub ?? ''}"; use: migration index`);
      const { values } = parseArgs({
        args: rest,
        options: {
          ...INDEX_SPEC_OPTIONS,
          name: { type: 'string' },
          kind: { type: 'string' },
          key: { type: 'string' },
          migrations: { type: 'string' },
          apply: { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
        },
        strict: true,
      });
      const kind = kindOption(values.kind);
      if (kind !== 'vector') {
        for (const flag of [
          'method',
          'metric',
          'm',
          'ef-construction',
          'lists',
          'where',
          'expression',
        ] as const) {
          if (values[flag] !== undefined)
            throw new UsageError(`--${flag} is for vector indexes, not --kind ${values.kind}`);
        }
        const result = await createFilterIndexMigration({
          kind,
          key: values.key,
          name: values.name,
          column: values.column,
          table: values.table,
          schema: values.schema,
          migrations: values.migrations,
          apply: values.apply,
        });
        if (values.json) {
          console.log(JSON.stringify({ ok: true, ...result }, null, 2));
          return 0;
        }
        printMigration(result, `schema.prisma: ${result.note}.`);
        console.log(
          `Big, busy table? Run it as CREATE INDEX CONCURRENTLY by hand, then \`prisma migrate resolve --applied ${result.migrationName}\`.`,
        );
        return 0;
      }
      if (values.key !== undefined) throw new UsageError('--key is for --kind string, text or number');
      if (values.name === undefined) throw new UsageError('--name is required');
      const result = await createIndexMigration({
        name: values.name,
        column: values.column ?? 'embedding',
        table: values.table,
        method: methodOption(values.method, 'hnsw'),
        metric: metricOption(values.metric, 'cosine'),
        m: intOption('m', values.m, 0, 1_000_000),
        efConstruction: intOption('ef-construction', values['ef-construction'], 0, 1_000_000),
        lists: intOption('lists', values.lists, 0, 1_000_000),
        where: values.where,
        expression: expressionOption(values.expression),
        schema: values.schema,
        migrations: values.migrations,
        apply: values.apply,
      });
      if (values.json) {
        console.log(JSON.stringify({ ok: true, ...result }, null, 2));
        return 0;
      }
      printMigration(result, `schema.prisma: no line: ${result.note}.`);
      console.log(
        `Big, busy table? Build it with \`prisma-pgvector build-index --concurrently --name ${values.name} …\`, then \`prisma migrate resolve --applied ${result.migrationName}\`.`,
      );
      return 0;
    }),
};

/** What a written migration needs next in schema.prisma: the `@@index` line (added or to add), or why none. */
function printMigration(
  result: {
    readonly migrationFile: string;
    readonly ddl: string;
    readonly prismaLine: string | undefined;
    readonly applied: boolean;
    readonly model: string;
    readonly schemaFile: string;
  },
  noLine: string,
): void {
  console.log(`Wrote ${result.migrationFile}`);
  console.log(`  ${result.ddl};`);
  if (result.prismaLine === undefined) {
    console.log(noLine);
    return;
  }
  console.log(
    result.applied
      ? `Added to model ${result.model} in ${result.schemaFile}:`
      : `Add this line to model ${result.model} in ${result.schemaFile} (or rerun with --apply):`,
  );
  console.log(`  ${result.prismaLine}`);
}
