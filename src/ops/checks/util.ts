/** Small helpers shared by the checks: version comparison, sizes, bounded row counts, index suggestions. */

import type pg from 'pg';
import { isPgVectorError } from '../../core/errors.js';
import { type Metric, metricsFor } from '../../core/metric.js';
import { indexDdl } from '../../indexes/index-spec.js';
import type { DatabaseClient } from './connection.js';
import type { CheckStatus, DoctorContext, DoctorFinding, VectorColumn } from './types.js';
import { isVectorIndex } from './types.js';

const RANK: Record<CheckStatus, number> = { pass: 0, warn: 1, fail: 2 };

/** The worst of some statuses (`pass` for none). */
export function worstStatus(statuses: Iterable<CheckStatus>): CheckStatus {
  let worst: CheckStatus = 'pass';
  for (const s of statuses) if (RANK[s] > RANK[worst]) worst = s;
  return worst;
}

/**
 * Compares two dotted versions numerically (`0.10.0` > `0.8.7`); missing parts count as 0.
 *
 * ### Examples
 * ```ts
 * compareVersions('0.8.7', '0.8.0'); // 1
 * compareVersions('0.5', '0.5.0');   // 0
 * ```
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** `1.5 MB`-style size, binary units. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * Counts rows up to `limit` (`SELECT count(*) FROM (SELECT 1 … LIMIT n)`): exact below the limit, `limit`
 * at or above it, and never scans more than `limit` rows.
 */
export async function countRowsUpTo(
  client: DatabaseClient,
  tableSql: string,
  limit: number,
  where?: string,
): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM (SELECT 1 FROM ${tableSql}${where ? ` WHERE ${where}` : ''} LIMIT ${Math.max(0, Math.floor(limit))}) s`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** Runs a statement through the extended protocol, which refuses several statements in one string. */
export function querySingle<R extends pg.QueryResultRow>(
  client: DatabaseClient,
  text: string,
): Promise<pg.QueryResult<R>> {
  return client.query<R>({ text, queryMode: 'extended' } as pg.QueryConfig);
}

/** Columns that hold embeddings: every vector/halfvec/sparsevec column, and `bit` columns with a vector index. */
export function embeddingColumns(context: DoctorContext): VectorColumn[] {
  return context.columns.filter(
    (c) =>
      c.type !== 'bit' ||
      context.indexes.some((i) => isVectorIndex(i) && i.table === c.table && i.columns.includes(c.name)),
  );
}

/**
 * The `CREATE INDEX CONCURRENTLY` a column needs (built by `indexDdl`), or, when none can be built as is
 * (no dimensions, a metric the type lacks), what to do instead.
 */
export function suggestIndex(
  column: VectorColumn,
  metric: Metric,
  extra: { where?: string | undefined; method?: 'hnsw' | 'ivfflat'; lists?: number } = {},
): string {
  if (column.dimensions === undefined) {
    return `give ${column.label} dimensions first (ALTER TABLE … ALTER COLUMN … TYPE ${column.type}(<dims>)), then index it`;
  }
  const usable = metricsFor(column.type);
  const chosen = usable.includes(metric) ? metric : usable[0];
  if (chosen === undefined) return `${column.type} columns have no pgvector metric`;
  const base = {
    table: column.table.name,
    schema: column.table.schema,
    column: column.name,
    method: extra.method ?? ('hnsw' as const),
    type: column.type,
    dimensions: column.dimensions,
    metric: chosen,
    concurrently: true,
    where: extra.where,
    lists: extra.lists,
  };
  try {
    return `${indexDdl(base)};`;
  } catch (error) {
    if (!isPgVectorError(error, 'INDEX_DIMENSION_LIMIT') || column.type !== 'vector') {
      return isPgVectorError(error) ? (error.fix ?? error.message) : String(error);
    }
    try {
      return `${indexDdl({ ...base, expression: 'halfvec' })};  -- searches must then ORDER BY the same expression`;
    } catch (inner) {
      return isPgVectorError(inner) ? (inner.fix ?? inner.message) : String(inner);
    }
  }
}

/** A finding. */
export function finding(
  status: CheckStatus,
  object: string,
  message: string,
  fix?: string | undefined,
): DoctorFinding {
  return fix === undefined ? { status, object, message } : { status, object, message, fix };
}
