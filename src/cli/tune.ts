import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseMetric } from '../core/metric.js';
import { formatTuneResult, type PersistScope, tune } from '../ops/tuning.js';
import type { Command } from './command.js';

const help = `Usage: prisma-pgvector tune [--url URL] [--table documents] [--column embedding] [--metric cosine]
                            [--k 10] [--sample 50] [--queries FILE.json] [--filter "predicate"]
                            [--target 0.95] [--ladder 10,20,40,…] [--persist database|role] [--json]

Measures recall@k and latency of the vector index against exact results (index scans off) for each value
of a ladder of hnsw.ef_search (or ivfflat.probes when the index is IVFFlat), and recommends the smallest
value that reaches the target recall.

Options:
  --url URL            database (default: $DATABASE_URL)
  --table NAME         table, "name" or "schema.name" (default documents)
  --column NAME        vector column (default embedding)
  --metric NAME        metric the application searches with (default cosine)
  --k N                rows per query (default 10)
  --sample N           query vectors sampled from the table (default 50)
  --queries FILE       JSON array of query vectors to use instead of sampling
  --filter PREDICATE   RAW SQL applied to every query, e.g. "metadata->>'type' = 'article'" (from your
                       configuration, never user input); iterative scans are on for it (pgvector >= 0.8)
  --target R           recall to reach, in (0, 1] (default 0.95)
  --ladder LIST        comma-separated values to try (default 10,20,40,80,160,320,640,1000 for ef_search,
                       1,2,4,…,1024 for probes)
  --persist SCOPE      store the recommendation: database (ALTER DATABASE … SET) or role (ALTER ROLE
                       CURRENT_USER SET); new connections get it
  --json               machine-readable result

Exit code: 1 when no ladder value reaches the target, else 0.`;

function number(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${value}"`);
  return n;
}

function readQueries(file: string): number[][] {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (
    !Array.isArray(parsed) ||
    !parsed.every((q) => Array.isArray(q) && q.every((x) => typeof x === 'number'))
  ) {
    throw new Error(`--queries ${file} must hold a JSON array of vectors (arrays of numbers)`);
  }
  return parsed as number[][];
}

/** `prisma-pgvector tune`: the ef_search (or probes) tuner, as a table and a recommendation. */
export const tuneCommand: Command = {
  name: 'tune',
  summary:
    'measure recall@k per hnsw.ef_search (or ivfflat.probes) and recommend the smallest that reaches the target',
  help,
  async run(argv) {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        url: { type: 'string' },
        table: { type: 'string', default: 'documents' },
        column: { type: 'string', default: 'embedding' },
        metric: { type: 'string', default: 'cosine' },
        k: { type: 'string' },
        sample: { type: 'string' },
        queries: { type: 'string' },
        filter: { type: 'string' },
        target: { type: 'string' },
        ladder: { type: 'string' },
        persist: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    const url = values.url ?? process.env.DATABASE_URL;
    if (!url) {
      console.error('No database: pass --url or set DATABASE_URL.');
      return 2;
    }
    if (values.persist !== undefined && values.persist !== 'database' && values.persist !== 'role') {
      console.error(`--persist must be "database" or "role", got "${values.persist}"`);
      return 2;
    }
    const ladder = values.ladder?.split(',').map((v) => number(v.trim(), 'ladder') as number);
    const result = await tune(url, {
      table: values.table,
      column: values.column,
      metric: parseMetric(values.metric),
      k: number(values.k, 'k'),
      sample: number(values.sample, 'sample'),
      queries: values.queries === undefined ? undefined : readQueries(values.queries),
      filter: values.filter,
      target: number(values.target, 'target'),
      efSearchLadder: ladder,
      probesLadder: ladder,
      persist: values.persist as PersistScope | undefined,
    });
    console.log(values.json ? JSON.stringify(result, null, 2) : formatTuneResult(result));
    return result.recommended === undefined ? 1 : 0;
  },
};
