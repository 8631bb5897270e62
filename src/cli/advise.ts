import { parseArgs } from 'node:util';
import { adviseIndex } from '../indexes/advisor.js';
import { describeVectorColumn, withPgClient } from '../indexes/build.js';
import { qualifiedTable, quoteIdentifier } from '../indexes/index-spec.js';
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
          json: { type: 'boolean', default: false },
        },
        strict: true,
      });
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
        console.log(JSON.stringify({ ok: true, rows, dimensions, ...advice }, null, 2));
        return 0;
      }
      const params = Object.entries(advice.params)
        .map(([k, v]) => `${k} = ${v}`)
        .join(', ');
      console.log(`${advice.method.toUpperCase()} (${params}) for ${rows} rows × ${dimensions} dimensions`);
      for (const r of advice.reasons) console.log(`  because ${r}`);
      for (const w of advice.warnings) console.log(`  warning: ${w}`);
      return 0;
    }),
};
