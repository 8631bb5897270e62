import { parseArgs } from 'node:util';
import { VECTOR_TYPES, type VectorType } from '../core/metric.js';
import { buildIndex, describeVectorColumn, withPgClient } from '../indexes/build.js';
import { type IndexSpec, indexDdl } from '../indexes/index-spec.js';
import type { Command } from './command.js';
import {
  bytesOption,
  expressionOption,
  INDEX_SPEC_OPTIONS,
  intOption,
  methodOption,
  metricOption,
  runCommand,
  UsageError,
  urlOption,
  wantsJson,
} from './index-options.js';

const help = `Usage: prisma-pgvector build-index [--url URL] --table T [--column embedding] [options]

Builds a vector index well: checks it against pgvector's limits first, refuses IVFFlat on too little data
(< 50 rows per list; --force overrides), sizes maintenance_work_mem to the graph for this build only,
runs CONCURRENTLY outside a transaction, reports progress (pg_stat_progress_create_index, read on a
second connection; unavailable on the embedded server, whose connections share one session) and names
the invalid index a failed concurrent build leaves, with the fix. See docs/INDEXES.md.

For an index that a migration records: build it here with --concurrently, then
  prisma migrate resolve --applied <migration folder>

Options:
  --url URL                     database (default $DATABASE_URL)
  --table T                     table (required)
  --schema S                    schema of the table (default: search_path)
  --column C                    vector column, default embedding
  --name N                      index name (default <table>_<column>_<method>_idx …)
  --method hnsw|ivfflat         default hnsw
  --metric M                    cosine (default), l2, innerProduct, l1, hamming, jaccard
  --m N --ef-construction N     HNSW parameters (default 16, 64)
  --lists N                     IVFFlat lists (default 100; see \`prisma-pgvector advise\`)
  --where SQL                   partial index predicate: RAW SQL, never from untrusted input
  --expression E                halfvec | binary_quantize (index an expression, for > 2000 dims)
  --type T --dimensions D       column type and dimensions (default: read from the database)
  --concurrently                CREATE INDEX CONCURRENTLY (no write lock; not in a transaction)
  --if-not-exists
  --maintenance-work-mem SIZE   e.g. 2GB (default: sized to the graph, at most --max-maintenance-work-mem)
  --max-maintenance-work-mem SIZE  cap for the automatic size, default 1GB
  --parallel-workers N          max_parallel_maintenance_workers for this build
  --force                       build IVFFlat even with too little training data
  --dry-run                     print the DDL only
  --json                        machine-readable result
Exit codes: 0 built, 1 refused or failed, 2 bad options.`;

export const buildIndexCommand: Command = {
  name: 'build-index',
  summary: 'build a vector index with the right settings, CONCURRENTLY, with progress',
  help,
  run: (argv) =>
    runCommand('build-index', wantsJson(argv), async () => {
      const { values } = parseArgs({
        args: [...argv],
        options: {
          ...INDEX_SPEC_OPTIONS,
          url: { type: 'string' },
          name: { type: 'string' },
          type: { type: 'string' },
          dimensions: { type: 'string' },
          concurrently: { type: 'boolean', default: false },
          'if-not-exists': { type: 'boolean', default: false },
          'maintenance-work-mem': { type: 'string' },
          'max-maintenance-work-mem': { type: 'string' },
          'parallel-workers': { type: 'string' },
          force: { type: 'boolean', default: false },
          'dry-run': { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
        },
        strict: true,
      });
      if (values.table === undefined) throw new UsageError('--table is required');
      if (values.type !== undefined && !(VECTOR_TYPES as readonly string[]).includes(values.type)) {
        throw new UsageError(`--type must be one of ${VECTOR_TYPES.join(', ')}, got "${values.type}"`);
      }
      const table = values.table;
      const column = values.column ?? 'embedding';
      const method = methodOption(values.method, 'hnsw');
      const partial = {
        table,
        schema: values.schema,
        column,
        name: values.name,
        method,
        metric: metricOption(values.metric, 'cosine'),
        m: intOption('m', values.m, 0, 1_000_000),
        efConstruction: intOption('ef-construction', values['ef-construction'], 0, 1_000_000),
        lists: intOption('lists', values.lists, 0, 1_000_000),
        where: values.where,
        expression: expressionOption(values.expression),
        concurrently: values.concurrently,
        ifNotExists: values['if-not-exists'],
      };
      let type = values.type as VectorType | undefined;
      let dimensions = intOption('dimensions', values.dimensions, 1, 1_000_000_000);
      const needDb = !values['dry-run'] || type === undefined || dimensions === undefined;
      const url = needDb ? urlOption(values.url) : undefined;
      if (type === undefined || dimensions === undefined) {
        const found = await withPgClient(url as string, (c) =>
          describeVectorColumn(c, { table, column, schema: values.schema }),
        );
        type ??= found.type;
        dimensions ??= found.dimensions;
      }
      const spec: IndexSpec = { ...partial, type, dimensions };
      const ddl = indexDdl(spec);
      if (values['dry-run']) {
        if (values.json) console.log(JSON.stringify({ ok: true, dryRun: true, ddl }, null, 2));
        else console.log(`${ddl};`);
        return 0;
      }
      if (!values.json) console.error(`Building: ${ddl}`);
      const result = await buildIndex(url as string, spec, {
        maintenanceWorkMem: bytesOption('maintenance-work-mem', values['maintenance-work-mem']),
        maxMaintenanceWorkMem: bytesOption('max-maintenance-work-mem', values['max-maintenance-work-mem']),
        parallelWorkers: intOption('parallel-workers', values['parallel-workers'], 0, 1024),
        force: values.force,
        onProgress: values.json
          ? () => {}
          : (p) => {
              if (!p.available) console.error(`  progress unavailable: ${p.reason}`);
              else
                console.error(
                  `  ${p.phase}: tuples ${p.tuplesDone}/${p.tuplesTotal}, blocks ${p.blocksDone}/${p.blocksTotal}${p.percent === undefined ? '' : ` (${p.percent}%)`}${p.workers > 0 ? `, ${p.workers} parallel workers` : ''}`,
                );
            },
      });
      if (values.json) {
        console.log(JSON.stringify({ ok: true, ...result }, null, 2));
        return 0;
      }
      const s = result.settings;
      console.log(`Built ${result.name} in ${result.durationMs} ms (${result.rows} rows).`);
      console.log(
        `  settings for this build: maintenance_work_mem ${s.maintenanceWorkMem ?? '(unchanged)'}, max_parallel_maintenance_workers ${s.parallelWorkers ?? '(unchanged)'}`,
      );
      console.log(`  progress: ${result.progress}`);
      if (result.parallelWorkersSeen !== undefined) {
        console.log(`  parallel workers seen in the build: ${result.parallelWorkersSeen}`);
      }
      for (const n of result.notices) console.log(`  server notice: ${n}`);
      for (const w of result.warnings) console.log(`  warning: ${w}`);
      return 0;
    }),
};
