import { parseArgs } from 'node:util';
import { createIndexMigration } from '../indexes/migration.js';
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

Writes prisma/migrations/<UTC timestamp>_<name>/migration.sql creating a vector index, and prints the
@@index line that mirrors it in schema.prisma (inserted into the model with --apply), so that
\`prisma migrate dev\` never drops it. The DDL is first run on a scratch in-memory database with the
project's migrations applied: pgvector accepts it, and a partial index's predicate is taken in
PostgreSQL's own rendering (pg_get_expr), which is what Prisma compares.

The migration is NOT concurrent (Prisma runs migrations as one script; CREATE INDEX CONCURRENTLY cannot
run in a transaction). For a big, busy table: build the index with
  prisma-pgvector build-index --concurrently --name N …
then mark the migration applied: prisma migrate resolve --applied <migration folder>.

Options:
  --name N                 index name, also the migration folder's suffix (required)
  --column C               vector field (or @map column), default embedding
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

export const migrationCommand: Command = {
  name: 'migration',
  summary: 'migration index: write a drift-safe vector index migration + its @@index line',
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
          migrations: { type: 'string' },
          apply: { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
        },
        strict: true,
      });
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
      console.log(`Wrote ${result.migrationFile}`);
      console.log(`  ${result.ddl};`);
      console.log(
        result.applied
          ? `Added to model ${result.model} in ${result.schemaFile}:`
          : `Add this line to model ${result.model} in ${result.schemaFile} (or rerun with --apply):`,
      );
      console.log(`  ${result.prismaLine}`);
      console.log(
        `Big, busy table? Build it with \`prisma-pgvector build-index --concurrently --name ${values.name} …\`, then \`prisma migrate resolve --applied ${result.migrationName}\`.`,
      );
      return 0;
    }),
};
