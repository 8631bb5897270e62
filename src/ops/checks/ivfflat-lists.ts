/**
 * Check `ivfflat-lists`: every IVFFlat index has enough rows per list for its k-means training. The rule is
 * the index advisor's (`IVFFLAT_MIN_ROWS_PER_LIST`, docs/INDEXES.md): at least 50 rows per list, the sample
 * pgvector aims for; fewer rows than lists is pgvector's own "ivfflat index created with little data".
 */

import { metricForOpclass } from '../../core/metric.js';
import { IVFFLAT_MIN_ROWS_PER_LIST, suggestLists } from '../../indexes/advisor.js';
import { dropIndexDdl, INDEX_PARAMETER_LIMITS } from '../../indexes/index-spec.js';
import type { DoctorCheck, DoctorFinding } from './types.js';
import { countRowsUpTo, embeddingColumns, finding, suggestIndex } from './util.js';

/**
 * The IVFFlat rule without a database: `fail` below {@link IVFFLAT_MIN_ROWS_PER_LIST} rows per list (rows
 * counted now; the catalogue does not keep the row count at build time), else `pass`.
 *
 * ### Examples
 * ```ts
 * assessIvfflatLists(100, 80);     // { status: 'fail', reason: 'fewer-rows-than-lists' }
 * assessIvfflatLists(100, 1_200);  // { status: 'fail', reason: 'too-few-rows-per-list' }
 * assessIvfflatLists(100, 5_000);  // { status: 'pass', reason: 'ok' }
 * ```
 */
export function assessIvfflatLists(
  lists: number,
  rows: number,
): { status: 'pass' | 'fail'; reason: 'ok' | 'fewer-rows-than-lists' | 'too-few-rows-per-list' } {
  if (rows < lists) return { status: 'fail', reason: 'fewer-rows-than-lists' };
  if (rows < IVFFLAT_MIN_ROWS_PER_LIST * lists) return { status: 'fail', reason: 'too-few-rows-per-list' };
  return { status: 'pass', reason: 'ok' };
}

/** The `ivfflat-lists` check. */
export const ivfflatListsCheck: DoctorCheck = {
  id: 'ivfflat-lists',
  title: 'IVFFlat trained on enough rows',
  async run(context) {
    const findings: DoctorFinding[] = [];
    for (const index of context.indexes.filter((i) => i.method === 'ivfflat')) {
      const lists = Number(index.options.lists ?? INDEX_PARAMETER_LIMITS.lists.default);
      const needed = IVFFLAT_MIN_ROWS_PER_LIST * lists;
      const counted = await countRowsUpTo(context.client, index.table.sql, needed, index.predicate);
      const rows = counted < needed ? counted : Math.max(counted, index.table.reltuples);
      const verdict = assessIvfflatLists(lists, rows);
      const suggested = suggestLists(rows);
      const shownRows =
        counted < needed
          ? `${counted}`
          : index.table.reltuples > counted
            ? `~${Math.round(index.table.reltuples)}`
            : `≥ ${needed}`;
      if (verdict.status === 'pass') {
        findings.push(
          finding(
            'pass',
            index.label,
            `lists = ${lists} for ${shownRows} rows (≥ ${IVFFLAT_MIN_ROWS_PER_LIST} per list); pgvector's guidance for ${Math.round(rows)} rows: lists ≈ ${suggested}`,
          ),
        );
        continue;
      }
      const why =
        verdict.reason === 'fewer-rows-than-lists'
          ? `fewer rows than lists: pgvector built it "with little data", so most lists are empty or their centroids are noise`
          : `fewer than ${IVFFLAT_MIN_ROWS_PER_LIST} rows per list: k-means centroids are fitted to too few rows`;
      const column = embeddingColumns(context).find(
        (c) => c.table === index.table && index.columns.includes(c.name),
      );
      const metric = metricForOpclass(index.opclass)?.metric ?? context.options.metric;
      const drop = `${dropIndexDdl(index.name, { schema: index.schema, concurrently: true })};`;
      const rebuild =
        rows < IVFFLAT_MIN_ROWS_PER_LIST || column === undefined
          ? `${drop}  -- too few rows to train IVFFlat: use HNSW (no training), or build IVFFlat once the data is loaded`
          : `${drop}\n${suggestIndex(column, metric, { method: 'ivfflat', lists: Math.min(suggested, Math.floor(rows / IVFFLAT_MIN_ROWS_PER_LIST)), where: index.predicate })}  -- lists: pgvector's rows/1000 (√rows above 1M), at most rows/${IVFFLAT_MIN_ROWS_PER_LIST}`;
      findings.push(
        finding(
          'fail',
          index.label,
          `IVFFlat ${index.name} has lists = ${lists} for ${rows} rows: ${why}; recall stays low at any probes (centroids are never retrained)`,
          rebuild,
        ),
      );
    }
    return { findings, passMessage: 'no IVFFlat indexes in scope' };
  },
};
