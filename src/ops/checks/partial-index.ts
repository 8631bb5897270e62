/**
 * Check `partial-index`: each filter the application runs often has a partial vector index with the same
 * predicate. Predicates are compared as PostgreSQL renders them (`pg_get_expr(indpred, indrelid)`): the
 * configured predicate is rendered by building an index with it on a temporary copy of the table, in a
 * transaction that is rolled back.
 */

import type { DoctorCheck, DoctorContext, DoctorFinding, TableInfo } from './types.js';
import { isVectorIndex } from './types.js';
import { embeddingColumns, finding, querySingle, suggestIndex } from './util.js';

const SCRATCH = 'pg_temp."_ppv_doctor_predicate"';

/**
 * Renders a predicate the way PostgreSQL stores it for an index on `table`, e.g.
 * `metadata->>'type' = 'article'` → `((metadata ->> 'type'::text) = 'article'::text)`. Runs the predicate
 * (RAW SQL from configuration, never user input) in a rolled-back transaction; the client must not be in a
 * transaction already.
 */
export async function renderPredicate(
  context: DoctorContext,
  table: TableInfo,
  predicate: string,
): Promise<string> {
  const client = context.client;
  await client.query('BEGIN');
  try {
    await client.query(`CREATE TEMP TABLE ${SCRATCH} (LIKE ${table.sql}) ON COMMIT DROP`);
    await client.query(`ALTER TABLE ${SCRATCH} ADD COLUMN "_ppv_key" integer`);
    await querySingle(client, `CREATE INDEX ON ${SCRATCH} ("_ppv_key") WHERE ${predicate}`);
    const { rows } = await client.query<{ predicate: string }>(
      `SELECT pg_get_expr(i.indpred, i.indrelid) AS "predicate" FROM pg_index i WHERE i.indrelid = '${SCRATCH}'::regclass`,
    );
    const rendered = rows[0]?.predicate;
    if (rendered === undefined) throw new Error('the scratch index has no predicate');
    return rendered;
  } finally {
    await client.query('ROLLBACK');
  }
}

function findTable(context: DoctorContext, name: string): TableInfo | undefined {
  return context.tables.find((t) => t.label === name || t.name === name);
}

/** The `partial-index` check. */
export const partialIndexCheck: DoctorCheck = {
  id: 'partial-index',
  title: 'partial indexes for common filters',
  async run(context) {
    const findings: DoctorFinding[] = [];
    for (const filter of context.options.commonFilters) {
      const object = `${filter.table}: ${filter.predicate}`;
      const table = findTable(context, filter.table);
      if (table === undefined) {
        findings.push(
          finding('fail', object, `table ${filter.table} is not in scope (not found in the search_path)`),
        );
        continue;
      }
      let rendered: string;
      try {
        rendered = await renderPredicate(context, table, filter.predicate);
      } catch (error) {
        findings.push(
          finding(
            'fail',
            object,
            `the filter ${JSON.stringify(filter.predicate)} is not a valid index predicate on ${table.label}: ${error instanceof Error ? error.message : String(error)}`,
            'fix the predicate in the configuration (--filter "table:predicate")',
          ),
        );
        continue;
      }
      const matching = context.indexes.filter(
        (i) => isVectorIndex(i) && i.table === table && i.valid && i.predicate === rendered,
      );
      if (matching.length > 0) {
        findings.push(
          finding('pass', object, `served by ${matching.map((i) => i.name).join(', ')} (WHERE ${rendered})`),
        );
        continue;
      }
      const column = embeddingColumns(context).find((c) => c.table === table);
      const others = context.indexes.filter(
        (i) => isVectorIndex(i) && i.table === table && i.predicate !== undefined,
      );
      const seen =
        others.length > 0
          ? `; partial indexes there: ${others.map((i) => `${i.name} (WHERE ${i.predicate})`).join(', ')}`
          : '';
      findings.push(
        finding(
          'warn',
          object,
          `no partial vector index on ${table.label} for WHERE ${rendered}: filtered searches walk the whole graph and drop non-matching rows, so they are slower and return fewer than k rows unless ef_search is raised or iterative scans are on${seen}`,
          column === undefined
            ? `${table.label} has no embedding column`
            : suggestIndex(column, context.options.metric, { where: filter.predicate }),
        ),
      );
    }
    return { findings, passMessage: 'no common filters configured (--filter "table:predicate")' };
  },
};
