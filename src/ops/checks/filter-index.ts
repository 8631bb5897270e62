/**
 * Check `filter-index`: each sample filter (`--filter '<json>'`, the store's filter language) is served by
 * an index on every large table in scope that has the metadata column — GIN for equality / `in` /
 * `contains`, an expression B-tree per key for ranges, a B-tree on `created_at` — and a value that holds
 * ≥ 5% of the rows has a partial vector index. Below `largeTableRows` a sequential scan is fine and the
 * check passes saying so. The advice itself is `adviseFilterIndexes` (src/indexes/filter-advice.ts).
 */

import { adviseFilterIndexes } from '../../indexes/filter-advice.js';
import type { DoctorCheck, DoctorFinding } from './types.js';
import { embeddingColumns, finding } from './util.js';

/** The `filter-index` check. */
export const filterIndexCheck: DoctorCheck = {
  id: 'filter-index',
  title: 'indexes for sample filters',
  async run(context) {
    const findings: DoctorFinding[] = [];
    const { filters, metadataColumn, createdAtColumn, largeTableRows } = context.options;
    if (filters.length === 0) {
      return { findings, passMessage: `no sample filters given (--filter '{"tenant":"t7"}')` };
    }
    const oids = context.tables.map((t) => t.oid);
    const { rows } = await context.client.query<{ oid: string }>(
      `SELECT attrelid::text AS oid FROM pg_attribute
        WHERE attrelid = ANY ($1::oid[]) AND attname = $2 AND atttypid = 'jsonb'::regtype AND NOT attisdropped`,
      [oids, metadataColumn],
    );
    const withMetadata = new Set(rows.map((r) => r.oid));
    for (const table of context.tables.filter((t) => withMetadata.has(t.oid))) {
      const vector = embeddingColumns(context).find((c) => c.table === table)?.name;
      const advice = await adviseFilterIndexes(context.client, {
        table: table.name,
        schema: table.schema,
        filters,
        metadataColumn,
        createdAtColumn,
        vectorColumn: vector,
        largeTableRows,
      });
      for (const f of advice.filters) {
        const object = `${table.label}: ${JSON.stringify(f.filter)}`;
        if (advice.small) {
          findings.push(finding('pass', object, f.message));
          continue;
        }
        for (const item of f.items) {
          findings.push(
            item.status === 'missing'
              ? finding(
                  'warn',
                  object,
                  `${item.message}: the filter reads every row (sequential scan), and filtered vector searches cannot pre-select the matching rows`,
                  item.command,
                )
              : finding('pass', object, item.message),
          );
        }
        for (const p of f.partial) {
          findings.push(
            p.advised ? finding('warn', object, p.message, p.command) : finding('pass', object, p.message),
          );
        }
        if (f.items.length === 0) findings.push(finding('pass', object, f.message));
      }
    }
    return {
      findings,
      passMessage: `no table in scope has a jsonb column "${metadataColumn}"`,
    };
  },
};
