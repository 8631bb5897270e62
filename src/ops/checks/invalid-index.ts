/**
 * Check `invalid-index`: no index is left invalid (`pg_index.indisvalid = false`), as a failed
 * `CREATE INDEX CONCURRENTLY` or `REINDEX CONCURRENTLY` leaves it: the planner ignores it, yet every write
 * still updates it.
 */

import { dropIndexDdl } from '../../indexes/index-spec.js';
import type { DoctorCheck, DoctorFinding } from './types.js';
import { finding } from './util.js';

/** The `invalid-index` check. */
export const invalidIndexCheck: DoctorCheck = {
  id: 'invalid-index',
  title: 'no invalid indexes',
  async run(context) {
    const findings: DoctorFinding[] = [];
    for (const index of context.indexes.filter((i) => !i.valid)) {
      const create = index.definition.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX CONCURRENTLY ');
      findings.push(
        finding(
          'fail',
          index.label,
          `${index.name} (${index.method}) on ${index.table.label} is invalid (a failed CREATE INDEX CONCURRENTLY or REINDEX): searches cannot use it, yet every write still maintains it; \`prisma-pgvector maintain --rebuild-invalid\` rebuilds it in place (REINDEX INDEX CONCURRENTLY), or run the fix`,
          `${dropIndexDdl(index.name, { schema: index.schema, concurrently: true, ifExists: true })};\n${create};`,
        ),
      );
    }
    return { findings, passMessage: `${context.indexes.length} indexes, all valid` };
  },
};
