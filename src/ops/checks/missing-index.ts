/** Check `missing-index`: a large table must have a (non-partial, valid) vector index on its embedding. */

import type { DoctorCheck, DoctorFinding } from './types.js';
import { isVectorIndex } from './types.js';
import { countRowsUpTo, embeddingColumns, finding, suggestIndex } from './util.js';

/** The `missing-index` check. */
export const missingIndexCheck: DoctorCheck = {
  id: 'missing-index',
  title: 'vector index on large tables',
  async run(context) {
    const threshold = context.options.largeTableRows;
    const findings: DoctorFinding[] = [];
    for (const column of embeddingColumns(context)) {
      const indexes = context.indexes.filter(
        (i) => isVectorIndex(i) && i.valid && i.table === column.table && i.columns.includes(column.name),
      );
      const full = indexes.filter((i) => i.predicate === undefined);
      if (full.length > 0) {
        findings.push(finding('pass', column.label, `indexed by ${full.map((i) => i.name).join(', ')}`));
        continue;
      }
      const quoted = `"${column.name.replaceAll('"', '""')}"`;
      const rows = await countRowsUpTo(context.client, column.table.sql, threshold, `${quoted} IS NOT NULL`);
      if (rows < threshold) {
        findings.push(
          finding(
            'pass',
            column.label,
            `${rows} rows with an embedding (< ${threshold}): no index needed yet`,
          ),
        );
        continue;
      }
      const partial =
        indexes.length > 0
          ? ` (only partial indexes: ${indexes.map((i) => i.name).join(', ')}, which serve their filters only)`
          : '';
      findings.push(
        finding(
          'fail',
          column.label,
          `${column.table.label} has at least ${threshold} rows with an embedding and no vector index on ${column.name}${partial}: every search computes the distance to every row (sequential scan)`,
          suggestIndex(column, context.options.metric),
        ),
      );
    }
    return { findings, passMessage: 'no embedding columns in scope' };
  },
};
