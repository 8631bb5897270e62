import { parseArgs } from 'node:util';
import type { Filter } from '../core/filter.js';
import { parseMetric } from '../core/metric.js';
import {
  type CommonFilter,
  doctor,
  doctorExitCode,
  formatDoctorReport,
  parseFilterArgument,
  parseJsonFilterArgument,
} from '../ops/doctor.js';
import type { Command } from './command.js';

const help = `Usage: prisma-pgvector doctor [--url URL] [--metric cosine] [--k 10] [--large-table-rows N]
                              [--filter "table:predicate" | --filter '<json>']... [--table NAME]... [--ef-search N] [--json] [--strict]

Checks the pgvector playbook's red lines on a live database (any PostgreSQL 13+, through pg):
  extension          pgvector available / installed / recent (fail: missing or < 0.5; warn: < 0.8)
  dimensions         vector columns have dimensions within the index limits (vector 2000, halfvec 4000, bit 64000)
  missing-index      tables with at least --large-table-rows rows and no vector index
  operator-mismatch  index operator class vs --metric (the index would not be used)
  ivfflat-lists      IVFFlat indexes with fewer than 50 rows per list
  stale-stats        no VACUUM ANALYZE after bulk changes (pg_stat_user_tables)
  ef-search          hnsw.ef_search never tuned (pgvector's default 40), or below --k
  partial-index      --filter predicates without a matching partial vector index
  filter-index       --filter JSON filters no index serves on a large table (GIN, expression B-tree, created_at)
  index-size         vector indexes vs maintenance_work_mem and shared_buffers
  invalid-index      indexes left invalid by a failed CREATE INDEX CONCURRENTLY

Options:
  --url URL               database (default: $DATABASE_URL)
  --metric NAME           metric the store searches with: cosine, l2, innerProduct, l1, hamming, jaccard (default cosine)
  --k N                   rows a search returns (default 10)
  --large-table-rows N    rows above which a table needs a vector index (default 10000)
  --filter T:PREDICATE    a common filter, e.g. "documents:metadata->>'type' = 'article'" (repeatable; RAW SQL
                          from your configuration, run in a rolled-back transaction)
  --filter JSON           a sample filter in the store's language, e.g. '{"tenant":"t7","price":{"gte":10}}'
                          (repeatable): which index serves it, on every table with the metadata column
  --metadata-column C     the store's metadata column (default metadata)
  --created-at-column C   the store's creation-time column (default created_at)
  --table NAME            check only this table, "name" or "schema.name" (repeatable; default: the search_path)
  --ef-search N           the hnsw.ef_search your application sets per query, if it sets one
  --json                  machine-readable report
  --strict                exit 1 on warnings too

Exit code: 1 when a check fails (with --strict: or warns), else 0.`;

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got "${value}"`);
  return n;
}

/** `prisma-pgvector doctor`: runs the doctor's checks and prints one line per check with its fix. */
export const doctorCommand: Command = {
  name: 'doctor',
  summary: "check the pgvector playbook's red lines on a database (indexes, operators, stats, ef_search)",
  help,
  async run(argv) {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        url: { type: 'string' },
        metric: { type: 'string', default: 'cosine' },
        k: { type: 'string' },
        'large-table-rows': { type: 'string' },
        filter: { type: 'string', multiple: true },
        table: { type: 'string', multiple: true },
        'ef-search': { type: 'string' },
        'metadata-column': { type: 'string' },
        'created-at-column': { type: 'string' },
        json: { type: 'boolean', default: false },
        strict: { type: 'boolean', default: false },
      },
      strict: true,
    });
    const url = values.url ?? process.env.DATABASE_URL;
    if (!url) {
      console.error('No database: pass --url or set DATABASE_URL.');
      return 2;
    }
    const commonFilters: CommonFilter[] = [];
    const filters: Filter[] = [];
    for (const value of values.filter ?? []) {
      const json = parseJsonFilterArgument(value);
      if (json === undefined) commonFilters.push(parseFilterArgument(value));
      else filters.push(json);
    }
    const report = await doctor(url, {
      metric: parseMetric(values.metric),
      k: integer(values.k, 'k'),
      largeTableRows: integer(values['large-table-rows'], 'large-table-rows'),
      commonFilters,
      filters,
      metadataColumn: values['metadata-column'],
      createdAtColumn: values['created-at-column'],
      tables: values.table,
      efSearchExpected: integer(values['ef-search'], 'ef-search'),
    });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatDoctorReport(report));
    return doctorExitCode(report, { strict: values.strict });
  },
};
