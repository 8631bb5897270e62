/**
 * `doctor`: the pgvector playbook's red lines, checked on a live database. Each check is a function in
 * `src/ops/checks/` with a stable id; this module runs them, summarises, and formats the report.
 *
 * Plain `pg` and catalogue queries that exist on PostgreSQL 13+, so it runs against any server by URL.
 */

import { PgVectorError } from '../core/errors.js';
import type { Filter } from '../core/filter.js';
import { parseMetric } from '../core/metric.js';
import { SMALL_TABLE_ROWS } from '../indexes/advisor.js';
import { loadContext } from './checks/catalog.js';
import { type DatabaseTarget, withClient } from './checks/connection.js';
import { dimensionsCheck } from './checks/dimensions.js';
import { efSearchCheck } from './checks/ef-search.js';
import { extensionCheck } from './checks/extension.js';
import { filterIndexCheck } from './checks/filter-index.js';
import { indexSizeCheck } from './checks/index-size.js';
import { invalidIndexCheck } from './checks/invalid-index.js';
import { ivfflatListsCheck } from './checks/ivfflat-lists.js';
import { missingIndexCheck } from './checks/missing-index.js';
import { operatorMismatchCheck } from './checks/operator-mismatch.js';
import { partialIndexCheck } from './checks/partial-index.js';
import { staleStatsCheck } from './checks/stale-stats.js';
import type {
  CheckStatus,
  CommonFilter,
  DoctorCheck,
  DoctorCheckResult,
  DoctorOptions,
  ResolvedDoctorOptions,
} from './checks/types.js';
import { worstStatus } from './checks/util.js';

export type { DatabaseClient, DatabaseTarget } from './checks/connection.js';
export type {
  CheckStatus,
  CommonFilter,
  DoctorCheck,
  DoctorCheckId,
  DoctorCheckResult,
  DoctorFinding,
  DoctorOptions,
} from './checks/types.js';
export { DOCTOR_CHECK_IDS } from './checks/types.js';

/** Every check, in the order the doctor runs them (the order of `DOCTOR_CHECK_IDS`). */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  extensionCheck,
  dimensionsCheck,
  missingIndexCheck,
  operatorMismatchCheck,
  ivfflatListsCheck,
  staleStatsCheck,
  efSearchCheck,
  partialIndexCheck,
  filterIndexCheck,
  indexSizeCheck,
  invalidIndexCheck,
];

/** Counts per status, and what was checked. */
export interface DoctorSummary {
  readonly pass: number;
  readonly warn: number;
  readonly fail: number;
  /** True when no check failed. */
  readonly ok: boolean;
  /** `server_version_num`, e.g. 180006. */
  readonly serverVersionNum: number;
  /** Installed pgvector version, if any. */
  readonly pgvectorVersion: string | undefined;
  /** `schema.table` of every table checked. */
  readonly tables: readonly string[];
}

/** What {@link doctor} returns: one result per check, in {@link DOCTOR_CHECKS} order, and a summary. */
export interface DoctorReport {
  readonly checks: readonly DoctorCheckResult[];
  readonly summary: DoctorSummary;
}

/** Default of {@link DoctorOptions.largeTableRows}: the index advisor's small-table bound (10 000 rows). */
export const DEFAULT_LARGE_TABLE_ROWS = SMALL_TABLE_ROWS;

function invalid(message: string): PgVectorError {
  return new PgVectorError('INVALID_CONFIG', message);
}

function positiveInteger(value: unknown, name: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(`${name} must be an integer from 1 to ${max}, got ${String(value)}`);
  }
  return value;
}

/**
 * Checks the options and fills in the defaults (metric `cosine`, k 10, largeTableRows 10 000). Throws
 * `INVALID_CONFIG` on a bad value.
 *
 * ### Examples
 * ```ts
 * resolveDoctorOptions({ k: 20 }); // { metric: 'cosine', k: 20, largeTableRows: 10000, commonFilters: [], … }
 * ```
 */
export function resolveDoctorOptions(options: DoctorOptions = {}): ResolvedDoctorOptions {
  const commonFilters: CommonFilter[] = [];
  for (const f of options.commonFilters ?? []) {
    if (
      typeof f?.table !== 'string' ||
      f.table === '' ||
      typeof f.predicate !== 'string' ||
      f.predicate.trim() === ''
    ) {
      throw invalid(`commonFilters entries need a table and a predicate, got ${JSON.stringify(f)}`);
    }
    commonFilters.push({ table: f.table, predicate: f.predicate.trim() });
  }
  return {
    tables: options.tables === undefined ? undefined : [...options.tables],
    metric: parseMetric(options.metric ?? 'cosine'),
    k: positiveInteger(options.k ?? 10, 'k', 1000),
    largeTableRows: positiveInteger(
      options.largeTableRows ?? DEFAULT_LARGE_TABLE_ROWS,
      'largeTableRows',
      1e12,
    ),
    commonFilters,
    efSearchExpected:
      options.efSearchExpected === undefined
        ? undefined
        : positiveInteger(options.efSearchExpected, 'efSearchExpected', 1000),
    filters: (options.filters ?? []).map((f) => {
      if (typeof f !== 'object' || f === null || Array.isArray(f)) {
        throw invalid(`filters entries must be filter objects, got ${JSON.stringify(f)}`);
      }
      return f;
    }),
    metadataColumn: options.metadataColumn ?? 'metadata',
    createdAtColumn: options.createdAtColumn ?? 'created_at',
  };
}

/**
 * Parses a `--filter` value, `table:predicate` (the first `:` splits; the table may be `schema.table`).
 *
 * ### Examples
 * ```ts
 * parseFilterArgument("documents:metadata->>'type' = 'article'");
 * // { table: 'documents', predicate: "metadata->>'type' = 'article'" }
 * ```
 */
export function parseFilterArgument(value: string): CommonFilter {
  const at = value.indexOf(':');
  if (at <= 0 || value.slice(at + 1).trim() === '') {
    throw invalid(`--filter must be "table:predicate", got ${JSON.stringify(value)}`);
  }
  return { table: value.slice(0, at).trim(), predicate: value.slice(at + 1).trim() };
}

/**
 * Parses a `--filter` value that is a JSON filter (`'{"tenant":"t7"}'`), for the `filter-index` check;
 * `undefined` when the value is not JSON (then it is a `table:predicate`, see {@link parseFilterArgument}).
 */
export function parseJsonFilterArgument(value: string): Filter | undefined {
  if (!value.trim().startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw invalid(`--filter ${JSON.stringify(value)} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid(`--filter must be a JSON object, got ${JSON.stringify(value)}`);
  }
  return reviveDates(parsed) as Filter;
}

/** `createdAt` bounds given as ISO strings in JSON become Dates, as the filter language wants. */
export function reviveDates(filter: unknown): unknown {
  if (Array.isArray(filter)) return filter.map(reviveDates);
  if (typeof filter !== 'object' || filter === null) return filter;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(filter)) {
    if (k === 'createdAt' && typeof v === 'object' && v !== null) {
      out[k] = Object.fromEntries(
        Object.entries(v).map(([op, d]) => [op, typeof d === 'string' ? new Date(d) : d]),
      );
    } else out[k] = k === 'and' || k === 'or' || k === 'not' ? reviveDates(v) : v;
  }
  return out;
}

/**
 * Runs every check against a database and reports one result per check (a check that errors is reported
 * as `fail` with the error, and the others still run).
 *
 * `target` is a connected `pg` client (not inside a transaction: the `partial-index` check runs its own,
 * rolled back) or a URL. `commonFilters[].predicate` is RAW SQL from configuration, never user input.
 *
 * ### Examples
 * ```ts
 * const report = await doctor(process.env.DATABASE_URL!, {
 *   metric: 'cosine',
 *   k: 10,
 *   commonFilters: [{ table: 'documents', predicate: "metadata->>'type' = 'article'" }],
 * });
 * for (const c of report.checks) console.log(c.status, c.id, c.message);
 * if (!report.summary.ok) process.exitCode = 1;
 * ```
 *
 * The catalogue SQL it runs (PostgreSQL), among others:
 * ```sql
 * SELECT extversion FROM pg_extension WHERE extname = 'vector';
 * SELECT … FROM pg_index i JOIN pg_am am … WHERE i.indrelid = ANY ($1::oid[]);
 * SELECT n_live_tup, n_dead_tup, n_mod_since_analyze, … FROM pg_stat_user_tables WHERE relid = ANY ($1::oid[]);
 * ```
 */
export async function doctor(target: DatabaseTarget, options: DoctorOptions = {}): Promise<DoctorReport> {
  const resolved = resolveDoctorOptions(options);
  return withClient(target, async (client) => {
    const context = await loadContext(client, resolved);
    const checks: DoctorCheckResult[] = [];
    for (const check of DOCTOR_CHECKS) {
      try {
        const outcome = await check.run(context);
        const status = worstStatus(outcome.findings.map((f) => f.status));
        const problems = outcome.findings.filter((f) => f.status !== 'pass');
        const shown = status === 'pass' ? outcome.findings : problems;
        const message =
          shown.length === 0
            ? outcome.passMessage
            : shown.map((f) => (status === 'pass' ? `${f.object}: ${f.message}` : f.message)).join('\n');
        // One line per distinct fix: several findings may need the same index.
        const fixes = [...new Set(problems.map((f) => f.fix).filter((f): f is string => f !== undefined))];
        checks.push({
          id: check.id,
          title: check.title,
          status,
          message,
          ...(fixes.length > 0 ? { fix: fixes.join('\n') } : {}),
          findings: outcome.findings,
        });
      } catch (error) {
        checks.push({
          id: check.id,
          title: check.title,
          status: 'fail',
          message: `the check could not run: ${error instanceof Error ? error.message : String(error)}`,
          findings: [],
        });
      }
    }
    const count = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
    return {
      checks,
      summary: {
        pass: count('pass'),
        warn: count('warn'),
        fail: count('fail'),
        ok: count('fail') === 0,
        serverVersionNum: context.serverVersionNum,
        pgvectorVersion: context.extension.installedVersion,
        tables: context.tables.map((t) => t.label),
      },
    };
  });
}

/**
 * The exit code for a report: 1 when a check failed (or, with `strict`, warned), else 0.
 *
 * ### Examples
 * ```ts
 * process.exitCode = doctorExitCode(report, { strict: true });
 * ```
 */
export function doctorExitCode(report: DoctorReport, options: { strict?: boolean } = {}): number {
  const bad = report.summary.fail > 0 || (options.strict === true && report.summary.warn > 0);
  return bad ? 1 : 0;
}

/**
 * The report for people: one `PASS`/`WARN`/`FAIL` line per check, the findings indented under it, and
 * the fix SQL after `fix:`.
 *
 * ### Examples
 * ```ts
 * console.log(formatDoctorReport(await doctor(url)));
 * // WARN  ef-search          hnsw.ef_search is 40 (pgvector's default) and not set for this database or role: …
 * //        fix: npx prisma-pgvector tune --table documents --column embedding --metric cosine --k 10 --persist database
 * ```
 */
export function formatDoctorReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.id.length));
  const lines: string[] = [];
  for (const check of report.checks) {
    const [first = '', ...rest] = check.message.split('\n');
    const pad = ' '.repeat(6 + width + 2);
    lines.push(`${check.status.toUpperCase().padEnd(4)}  ${check.id.padEnd(width)}  ${first}`);
    for (const line of rest) lines.push(`${pad}${line}`);
    if (check.fix !== undefined) {
      const [fixFirst = '', ...fixRest] = check.fix.split('\n');
      lines.push(`${pad}fix: ${fixFirst}`);
      for (const line of fixRest) lines.push(`${pad}     ${line}`);
    }
  }
  const s = report.summary;
  lines.push(
    '',
    `${s.pass} passed, ${s.warn} warned, ${s.fail} failed` +
      ` (PostgreSQL ${Math.floor(s.serverVersionNum / 10000)}, pgvector ${s.pgvectorVersion ?? 'not installed'}, ${s.tables.length} table${s.tables.length === 1 ? '' : 's'})`,
  );
  return lines.join('\n');
}
