/** Check `dimensions`: every embedding column has dimensions, within the index limit of its type. */

import { INDEX_DIMENSION_LIMITS } from '../../indexes/index-spec.js';
import type { DoctorCheck, DoctorFinding } from './types.js';
import { isVectorIndex } from './types.js';
import { embeddingColumns, finding, suggestIndex } from './util.js';

/** The `dimensions` check. */
export const dimensionsCheck: DoctorCheck = {
  id: 'dimensions',
  title: 'vector dimensions within index limits',
  async run(context) {
    const findings: DoctorFinding[] = [];
    for (const column of embeddingColumns(context)) {
      const indexes = context.indexes.filter(
        (i) => isVectorIndex(i) && i.table === column.table && i.columns.includes(column.name),
      );
      const indexed = indexes
        .map((i) => `${i.name} (${i.keyType}${i.keyDimensions ? `(${i.keyDimensions})` : ''})`)
        .join(', ');
      if (column.dimensions === undefined) {
        findings.push(
          finding(
            'warn',
            column.label,
            `${column.label} is declared as ${column.formatted} without dimensions: no HNSW or IVFFlat index can be built on it ("column does not have dimensions"), and rows of any length are accepted`,
            `ALTER TABLE ${column.table.sql} ALTER COLUMN "${column.name.replaceAll('"', '""')}" TYPE ${column.type}(<dims>);  -- the embedding model's dimensions`,
          ),
        );
        continue;
      }
      // sparsevec's index limit is on non-zero elements per row (checked when a row is indexed), not dimensions.
      const limit = column.type === 'sparsevec' ? undefined : INDEX_DIMENSION_LIMITS[column.type];
      if (limit !== undefined && column.dimensions > limit) {
        if (indexes.length > 0) {
          findings.push(
            finding(
              'pass',
              column.label,
              `${column.formatted} is above the ${limit}-dimension index limit of ${column.type}, indexed through an expression: ${indexed}`,
            ),
          );
        } else {
          findings.push(
            finding(
              'fail',
              column.label,
              `${column.label} is ${column.formatted}: above the ${limit}-dimension limit of HNSW/IVFFlat indexes on ${column.type}, so CREATE INDEX fails ("column cannot have more than ${limit} dimensions for hnsw index")`,
              suggestIndex(column, context.options.metric),
            ),
          );
        }
        continue;
      }
      findings.push(
        finding(
          'pass',
          column.label,
          `${column.formatted}${limit === undefined ? '' : ` (index limit ${limit})`}${indexed ? `, indexed by ${indexed}` : ''}`,
        ),
      );
    }
    return { findings, passMessage: 'no embedding columns in scope' };
  },
};
