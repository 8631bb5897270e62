import { parseArgs } from 'node:util';
import { adviseIndex } from '../indexes/advisor.js';
import { describeVectorColumn, withPgClient } from '../indexes/build.js';
import { adviseFilterIndexes, type FilterIndexesAdvice } from '../indexes/filter-advice.js';
import { qualifiedTable, quoteIdentifier } from '../indexes/index-spec.js';
import { parseJsonFilterArgument } from '../ops/doctor.js';
import type { Command } from './command.js';
import {
  bytesOption,
  intOption,
  numberOption,
  runCommand,
  UsageError,
  urlOption,
  wantsJson,
} from './index-options.js';

const help = `Usage: prisma-pgvector advise --rows N --dimensions D [options]
       prisma-pgvector advise --url URL --table documents --column embedding [options]

Recommends HNSW or IVFFlat with parameters (m / ef_construction, or lists / probes) and the reasons.
With --url the rows (non-NULL embeddings) and the dimensions are read from the database.
HNSW unless the HNSW build does not fit --memory or --build-time while IVFFlat does AND the data is
already loaded (≥ 10,000 rows, ≥ 50 rows per list) and will not change much. See docs/INDEXES.md.

With --filter (and --table): which index serves each sample filter — GIN jsonb_path_ops for equality,
in and contains; an expression B-tree per key for ranges (number or text); a B-tree on created_at — and
whether the table has it (matched by definition, as the server deparses it), with the \`migration index\`
command that writes it. Below 10,000 rows a sequential scan is fine and nothing is advised. A value
(\`{"type":"note"}\`) that holds ≥ 5% of the rows gets a partial HNSW index.

Options:
  --rows N             rows with an embedding now
  --dimensions D       embedding dimensions
  --expected-rows N    rows expected later (default: --rows)
  --memory SIZE        memory the build may use, e.g. 4GB (maintenance_work_mem)
  --recall R           recall target at k=10, default 0.95
  --build-time SEC     longest acceptable build, seconds
  --workers N          parallel maintenance workers available (default 1)
  --write-heavy        rows keep being inserted/updated/deleted after the build
  --url URL            read rows and dimensions from this database (default $DATABASE_URL with --table)
  --table T            table, with --column (default column: embedding)
  --column C
  --filter JSON        a sample filter, e.g. '{"tenant":"t7"}' or '{"price":{"gte":10,"lt":20}}' (repeatable)
  --metadata-column C  the store's metadata column (default metadata)
  --created-at-column C  the store's creation-time column (default created_at)
  --large-table-rows N below this many rows no filter index is advised (default 10000)
  --json               machine-readable output
Exit codes: 0 advice printed, 1 database error, 2 bad options.`;

export const adviseCommand: Command = {
  name: 'advise',
  summary: 'recommend HNSW or IVFFlat and its parameters, with the reasons',
  help,
  run: (argv) =>
    runCommand('advise', wantsJson(argv), async () => {
      const { values } = parseArgs({
        args: [...argv],
        options: {
          rows: { type: 'string' },
          dimensions: { type: 'string' },
          'expected-rows': { type: 'string' },
          memory: { type: 'string' },
          recall: { type: 'string' },
          'build-time': { type: 'string' },
          workers: { type: 'string' },
          'write-heavy': { type: 'boolean', default: false },
          url: { type: 'string' },
          table: { type: 'string' },
          column: { type: 'string' },
          filter: { type: 'string', multiple: true },
          'metadata-column': { type: 'string' },
          'created-at-column': { type: 'string' },
          'large-table-rows': { type: 'string' },
          json: { type: 'boolean', default: false },
        },
        strict: true,
      });
      const filters = (values.filter ?? []).map((f) => {
        const parsed = parseJsonFilterArgument(f);
        if (parsed === undefined) throw new UsageError(`--filter must be a JSON object, got "${f}"`);
        return parsed;
      });
      if (filters.length > 0 && values.table === undefined) {
        throw new UsageError('--filter needs --table (and --url or DATABASE_URL)');
      }
      let filterAdvice: FilterIndexesAdvice | undefined;
      let rows = intOption('rows', values.rows, 0, Number.MAX_SAFE_INTEGER);
      let dimensions = intOption('dimensions', values.dimensions, 1, 1_000_000_000);
      if (values.table !== undefined) {
        const column = values.column ?? 'embedding';
        const table = values.table;
        const found = await withPgClient(urlOption(values.url), async (client) => {
          const col = await describeVectorColumn(client, { table, column });
          const { rows: r } = await client.query<{ n: string }>(
            `SELECT count(*)::text AS n FROM ${qualifiedTable(table)} WHERE ${quoteIdentifier(column)} IS NOT NULL`,
          );
          if (filters.length > 0) {
            filterAdvice = await adviseFilterIndexes(client, {
              table,
              filters,
              vectorColumn: column,
              metadataColumn: values['metadata-column'],
              createdAtColumn: values['created-at-column'],
              largeTableRows: intOption('large-table-rows', values['large-table-rows'], 1, 1e12),
            });
          }
          return { dimensions: col.dimensions, rows: Number(r[0]?.n ?? 0) };
        });
        rows ??= found.rows;
        dimensions ??= found.dimensions;
      }
      if (rows === undefined || dimensions === undefined) {
        throw new UsageError('pass --rows and --dimensions, or --table (with --url or DATABASE_URL)');
      }
      const advice = adviseIndex({
        rows,
        dimensions,
        expectedRows: intOption('expected-rows', values['expected-rows'], 0, Number.MAX_SAFE_INTEGER),
        memoryBytes: bytesOption('memory', values.memory),
        recallTarget: numberOption('recall', values.recall, 0.01, 1),
        buildTimeBudget: numberOption('build-time', values['build-time'], 0, 1e9),
        workers: intOption('workers', values.workers, 1, 1024),
        writeHeavy: values['write-heavy'],
      });
      if (values.json) {
        console.log(
          JSON.stringify(
            {
              ok: true,
              rows,
              dimensions,
              ...advice,
              ...(filterAdvice ? { filterIndexes: filterAdvice } : {}),
            },
            null,
            2,
          ),
        );
        return 0;
      }
      const params = Object.entries(advice.params)
        .map(([k, v]) => `${k} = ${v}`)
        .join(', ');
      console.log(`${advice.method.toUpperCase()} (${params}) for ${rows} rows × ${dimensions} dimensions`);
      for (const r of advice.reasons) console.log(`  because ${r}`);
      for (const w of advice.warnings) console.log(`  warning: ${w}`);
      if (filterAdvice !== undefined) printFilterAdvice(filterAdvice);
      return 0;
    }),
};

function printFilterAdvice(advice: FilterIndexesAdvice): void {
  console.log(
    `Filters on ${advice.table} (${advice.rows} rows${advice.small ? ', small: a sequential scan is fine' : ''}):`,
  );
  for (const f of advice.filters) {
    console.log(`  ${JSON.stringify(f.filter)}: ${f.message}`);
    for (const item of f.items) {
      console.log(`    ${item.status.padEnd(7)} ${item.message}`);
      if (item.status === 'missing') console.log(`            ${item.command}`);
    }
    for (const p of f.partial) {
      console.log(
        `    ${(p.existing.length > 0 ? 'served' : p.advised ? 'missing' : 'ok').padEnd(7)} ${p.message}`,
      );
      if (p.advised) console.log(`            ${p.command}`);
    }
    for (const u of f.unserved) console.log(`    -       ${u}: no index serves it (it matches most rows)`);
  }
}
