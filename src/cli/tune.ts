import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Filter } from '../core/filter.js';
import { parseMetric } from '../core/metric.js';
import { formatTuneResult, type PersistScope, tune } from '../ops/tuning.js';
import type { Command } from './command.js';

const help = `Usage: prisma-pgvector tune [--url URL] [--table documents] [--column embedding] [--metric cosine]
                            [--k 10,50] [--sample 200] [--queries FILE.json] [--filter JSON|SQL]…
                            [--partial-index KEY=VALUE]…
                            [--target 0.95] [--ladder 10,20,40,…] [--no-refine]
                            [--persist index,database|role] [--json]

Measures recall@k and latency of the vector index against exact results (index scans off) for each value
of a ladder of hnsw.ef_search (or ivfflat.probes when the index is IVFFlat), at each k the application
uses, and recommends per k the smallest value (>= k) whose recall reaches the target with 95% confidence:
the lower bound of the recall's 95% interval (percentile bootstrap over the per-query recalls) must reach
it. The value for the database or role is the largest of them, raised to the largest k and to pgvector's
default 40, so that a persisted setting never caps a search. When no value reaches the target, or only
one above 200 (slow), it advises HNSW build parameters (m, ef_construction) and the statements to apply.

Options:
  --url URL            database (default: $DATABASE_URL)
  --table NAME         table, "name" or "schema.name" (default documents)
  --column NAME        vector column (default embedding)
  --metric NAME        metric the application searches with (default cosine)
  --k LIST             rows per query: the k values the application uses, comma-separated (default 10)
  --sample N           query vectors sampled from the table (default 200; the 95% interval is about
                       +-0.01 wide at recall 0.95 with 200 on uniform data, +-0.02 on clustered data: a
                       few hundred more narrow it, and so lower the recommendation)
  --queries FILE       JSON array of query vectors to use instead of sampling
  --filter F           a filter sample, repeatable: the store's filter language as JSON, e.g.
                       '{"type":"article"}' (compiled as the store compiles it; createdAt bounds as ISO
                       strings), or RAW SQL, e.g. "metadata->>'type' = 'article'" (from your configuration,
                       never user input). Each query vector runs with each sample, iterative scans on
                       (pgvector >= 0.8); the measurements are those of the filtered (iterative) strategy
  --metadata-column C  the jsonb column of JSON filters (default metadata)
  --partial-index K=V  repeatable: a partial vector index's predicate, as the store's
                       partialIndexPredicates; a JSON filter with that equality is then compiled in the
                       index's form, the partial index serves it, and --persist index writes that
                       index's own recall profile (e.g. --partial-index type=article
                       --filter '{"type":"article"}' --persist index)
  --target R           recall to reach, in (0, 1] (default 0.95)
  --ladder LIST        comma-separated values to try (default 10,20,40,80,160,320,640,1000 for ef_search,
                       1,2,4,…,1024 for probes)
  --no-refine          measure the default ladder only; by default, where the value that reached the
                       target is more than 1.25x the one below it (the default ladder doubles), up to 4
                       values in between are measured too, so that the recommendation is not up to 2x
                       what is needed (a --ladder of your own is measured as given)
  --persist SCOPES     comma-separated: index (the measured recall profile as the vector index's COMMENT,
                       read by a store created with { recall: 0.95 }; measurements of other k values and
                       of the other strategy already there are kept), database (ALTER DATABASE … SET) or
                       role (ALTER ROLE CURRENT_USER SET): new connections get the raised value
  --json               machine-readable result

Exit code: 1 when no ladder value reaches the target at some k, else 0.`;

/** `--partial-index key=value`: a partial vector index's predicate, as the store's `partialIndexPredicates`. */
function partialPredicate(text: string): { key: string; value: string } {
  const at = text.indexOf('=');
  if (at <= 0 || at === text.length - 1) throw new Error(`--partial-index takes KEY=VALUE, got "${text}"`);
  return { key: text.slice(0, at), value: text.slice(at + 1) };
}

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

/** A `--filter` value: JSON (the store's filter language, `createdAt` bounds as Dates) or raw SQL. */
function filterSample(text: string): string | Filter {
  if (!text.trim().startsWith('{')) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`--filter ${text}: not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  return withDates(parsed) as Filter;
}

/** `createdAt: { gte: "2026-01-01" }` → a Date, at any depth of `and` / `or` / `not`. */
function withDates(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withDates);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === 'createdAt' && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      out[key] = Object.fromEntries(
        Object.entries(v).map(([op, bound]) => [op, typeof bound === 'string' ? new Date(bound) : bound]),
      );
    } else {
      out[key] = key === 'and' || key === 'or' || key === 'not' ? withDates(v) : v;
    }
  }
  return out;
}

/** `prisma-pgvector tune`: the ef_search (or probes) tuner, as a table and a recommendation. */
export const tuneCommand: Command = {
  name: 'tune',
  summary:
    'measure recall@k (95% CI) per hnsw.ef_search (or ivfflat.probes) at each k, recommend, record the recall profile',
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
        filter: { type: 'string', multiple: true },
        'metadata-column': { type: 'string' },
        'partial-index': { type: 'string', multiple: true },
        target: { type: 'string' },
        ladder: { type: 'string' },
        'no-refine': { type: 'boolean', default: false },
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
    const persist = values.persist?.split(',').map((p) => p.trim());
    const bad = persist?.find((p) => p !== 'database' && p !== 'role' && p !== 'index');
    if (bad !== undefined) {
      console.error(`--persist takes index, database or role (comma-separated), got "${bad}"`);
      return 2;
    }
    if (persist?.includes('database') && persist.includes('role')) {
      console.error('--persist takes database or role, not both');
      return 2;
    }
    const ladder = values.ladder?.split(',').map((v) => number(v.trim(), 'ladder') as number);
    const result = await tune(url, {
      table: values.table,
      column: values.column,
      metric: parseMetric(values.metric),
      k: values.k?.split(',').map((v) => number(v.trim(), 'k') as number),
      sample: number(values.sample, 'sample'),
      queries: values.queries === undefined ? undefined : readQueries(values.queries),
      filters: values.filter?.map(filterSample),
      metadataColumn: values['metadata-column'],
      partialIndexPredicates: values['partial-index']?.map(partialPredicate),
      target: number(values.target, 'target'),
      efSearchLadder: ladder,
      probesLadder: ladder,
      refine: values['no-refine'] === true ? false : undefined,
      persist: persist as PersistScope[] | undefined,
    });
    console.log(values.json ? JSON.stringify(result, null, 2) : formatTuneResult(result));
    return result.recommended === undefined ? 1 : 0;
  },
};
