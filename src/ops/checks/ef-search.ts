/**
 * Check `ef-search`: `hnsw.ef_search` was tuned (set per database or role, in the server's configuration, by
 * the application per query, or per index: a recall profile from `tune --persist index` on the HNSW index)
 * and is at least k.
 */

import { quoteIdentifier } from '../../indexes/index-spec.js';
import { parseRecallProfile, type RecallProfile } from '../../store/recall-profile.js';
import type { DoctorCheck, DoctorContext, DoctorFinding, IndexInfo } from './types.js';
import { finding } from './util.js';

/** pgvector's default `hnsw.ef_search`. */
export const PGVECTOR_DEFAULT_EF_SEARCH = 40;

/** Where the `hnsw.ef_search` a search gets comes from. */
export type EfSearchSource =
  | 'application'
  | 'database and role'
  | 'role'
  | 'database'
  | 'all roles'
  | 'server configuration'
  | 'session'
  | 'default';

/** The effective `hnsw.ef_search` and where it comes from. */
export interface EfSearchSetting {
  readonly value: number;
  readonly source: EfSearchSource;
}

/**
 * The rule without a database: `fail` when ef_search is below k (an HNSW scan returns at most ef_search
 * rows), `warn` when it is pgvector's default and nobody set it, else `pass`.
 *
 * ### Examples
 * ```ts
 * assessEfSearch({ value: 40, source: 'default' }, 10);  // 'warn'
 * assessEfSearch({ value: 100, source: 'database' }, 10); // 'pass'
 * assessEfSearch({ value: 40, source: 'role' }, 50);      // 'fail'
 * ```
 */
export function assessEfSearch(setting: EfSearchSetting, k: number): 'pass' | 'warn' | 'fail' {
  if (setting.value < k) return 'fail';
  if (setting.source === 'default' || setting.source === 'session') return 'warn';
  return 'pass';
}

const PERSISTED_SQL = `SELECT s.setdatabase <> 0 AS "forDatabase", s.setrole <> 0 AS "forRole",
  substr(cfg, length('hnsw.ef_search=') + 1) AS "value"
FROM pg_db_role_setting s CROSS JOIN LATERAL unnest(s.setconfig) AS cfg
WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
  AND s.setrole IN (0, (SELECT oid FROM pg_roles WHERE rolname = current_user))
  AND cfg LIKE 'hnsw.ef\\_search=%'`;

/** The first whole-table HNSW index whose comment holds a valid recall profile (`tune --persist index`). */
async function profiledIndex(
  client: DoctorContext['client'],
  hnsw: readonly IndexInfo[],
): Promise<{ index: string; profile: RecallProfile } | undefined> {
  for (const index of hnsw) {
    if (index.predicate !== undefined) continue;
    const { rows } = await client.query<{ comment: string | null }>(
      `SELECT obj_description($1::regclass, 'pg_class') AS "comment"`,
      [index.sql],
    );
    const profile = parseRecallProfile(rows[0]?.comment);
    if (profile !== undefined) return { index: index.label, profile };
  }
  return undefined;
}

/** The `ef-search` check. */
export const efSearchCheck: DoctorCheck = {
  id: 'ef-search',
  title: 'hnsw.ef_search tuned and ≥ k',
  async run(context) {
    const { k, efSearchExpected } = context.options;
    const hnsw = context.indexes.filter((i) => i.method === 'hnsw');
    if (hnsw.length === 0 || context.extension.installedVersion === undefined) {
      return { findings: [], passMessage: 'no HNSW indexes in scope' };
    }
    let setting: EfSearchSetting;
    if (efSearchExpected !== undefined) {
      setting = { value: efSearchExpected, source: 'application' };
    } else {
      const persisted = await context.client.query<{ forDatabase: boolean; forRole: boolean; value: string }>(
        PERSISTED_SQL,
      );
      // Most specific first, as PostgreSQL applies them at connection: database+role, role, database, all.
      const rank = (r: { forDatabase: boolean; forRole: boolean }) =>
        (r.forRole ? 2 : 0) + (r.forDatabase ? 1 : 0);
      const best = [...persisted.rows].sort((a, b) => rank(b) - rank(a))[0];
      if (best !== undefined) {
        const source =
          (['all roles', 'database', 'role', 'database and role'] as const)[rank(best)] ?? 'role';
        setting = { value: Number(best.value), source };
      } else {
        // Loads pgvector's library in this session so that its settings exist, then reads the session's.
        await context.client.query(`SELECT '[1]'::vector`);
        const { rows } = await context.client.query<{ setting: string; source: string }>(
          `SELECT setting, source FROM pg_settings WHERE name = 'hnsw.ef_search'`,
        );
        const row = rows[0];
        const value = Number(row?.setting ?? PGVECTOR_DEFAULT_EF_SEARCH);
        const source: EfSearchSource =
          row === undefined || row.source === 'default'
            ? 'default'
            : row.source === 'configuration file' || row.source === 'command line'
              ? 'server configuration'
              : 'session';
        setting = { value, source };
      }
    }
    const status = assessEfSearch(setting, k);
    const { rows: dbRows } = await context.client.query<{ db: string }>('SELECT current_database() AS db');
    const db = quoteIdentifier(dbRows[0]?.db ?? 'postgres');
    const first = hnsw[0]!;
    const column = first.columns.find((c) =>
      context.columns.some((v) => v.table === first.table && v.name === c),
    );
    const tune = `npx prisma-pgvector tune --table ${first.table.name} --column ${column ?? 'embedding'} --metric ${context.options.metric} --k ${k} --persist database`;
    const findings: DoctorFinding[] = [];
    const profiled = status === 'warn' ? await profiledIndex(context.client, hnsw) : undefined;
    if (status === 'fail') {
      findings.push(
        finding(
          'fail',
          'hnsw.ef_search',
          `hnsw.ef_search is ${setting.value} (${setting.source}) but searches ask for k = ${k}: an HNSW scan returns at most ef_search rows, so queries return fewer than k rows`,
          `${tune}\n-- or at least: ALTER DATABASE ${db} SET hnsw.ef_search = ${Math.max(k, PGVECTOR_DEFAULT_EF_SEARCH)};`,
        ),
      );
    } else if (profiled !== undefined) {
      // `tune --persist index` tunes per index: a store with a recall target reads its ef_search there.
      findings.push(
        finding(
          'pass',
          'hnsw.ef_search',
          `hnsw.ef_search is ${setting.value} (${setting.source === 'default' ? "pgvector's default" : 'set in this session only'}), and ${profiled.index} carries a recall profile (${profiled.profile.entries.length} ${profiled.profile.entries.length === 1 ? 'entry' : 'entries'}, measured ${profiled.profile.measuredAt.slice(0, 10)}): searches with a recall target take their ef_search from it, and every search raises ef_search to at least k`,
        ),
      );
    } else if (status === 'warn') {
      findings.push(
        finding(
          'warn',
          'hnsw.ef_search',
          `hnsw.ef_search is ${setting.value} (${setting.source === 'default' ? "pgvector's default" : 'set in this session only'}) and not set for this database or role: ef_search was never tuned for recall`,
          tune,
        ),
      );
    } else {
      findings.push(
        finding(
          'pass',
          'hnsw.ef_search',
          `hnsw.ef_search = ${setting.value} (set by: ${setting.source}), ≥ k = ${k}`,
        ),
      );
    }
    return { findings, passMessage: 'ef_search is tuned' };
  },
};
