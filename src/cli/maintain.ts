import { parseArgs } from 'node:util';
import { maintain } from '../ops/maintenance.js';
import type { Command } from './command.js';
import { numberOption, runCommand, urlOption, wantsJson } from './index-options.js';

const help = `Usage: prisma-pgvector maintain [--url URL] [--table documents] [options]

VACUUM (ANALYZE) the tables holding vectors (every table with a vector/halfvec/sparsevec column or an
HNSW/IVFFlat index, or just --table), and first REINDEX INDEX CONCURRENTLY their vector indexes when
dead tuples exceed 20% of live rows since the last VACUUM (pg_stat_user_tables; pgvector's README:
vacuuming HNSW is slow, reindex first). Reports per table and index what was done, why and how long it
took; reports invalid indexes (failed concurrent builds) with the fix, and with --rebuild-invalid
rebuilds them: REINDEX INDEX CONCURRENTLY each, in place (DROP INDEX CONCURRENTLY for the _ccnew/_ccold
leftovers of a failed REINDEX CONCURRENTLY; an index whose build still runs is skipped). See
docs/INDEXES.md.

Options:
  --url URL            database (default $DATABASE_URL)
  --table T            one table (default: all tables with vectors in the schema)
  --schema S           default: the current schema (search_path)
  --only-when-needed   run only what the rule recommends (possibly nothing), not VACUUM (ANALYZE) anyway
  --dead-ratio R       dead/live ratio that triggers a reindex, default 0.2
  --rebuild-invalid    rebuild the invalid indexes of the schema (or of --table), without blocking writes
  --dry-run            print the plan, run nothing
  --json               machine-readable report
Exit codes: 0 done, 1 an action failed or an invalid index is left, 2 bad options.`;

export const maintainCommand: Command = {
  name: 'maintain',
  summary: 'VACUUM (ANALYZE) vector tables, REINDEX CONCURRENTLY bloated vector indexes first',
  help,
  run: (argv) =>
    runCommand('maintain', wantsJson(argv), async () => {
      const { values } = parseArgs({
        args: [...argv],
        options: {
          url: { type: 'string' },
          table: { type: 'string' },
          schema: { type: 'string' },
          'only-when-needed': { type: 'boolean', default: false },
          'dead-ratio': { type: 'string' },
          'rebuild-invalid': { type: 'boolean', default: false },
          'dry-run': { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
        },
        strict: true,
      });
      const deadRatio = numberOption('dead-ratio', values['dead-ratio'], 0, 1000);
      const report = await maintain(urlOption(values.url), {
        table: values.table,
        schema: values.schema,
        onlyWhenNeeded: values['only-when-needed'],
        dryRun: values['dry-run'],
        rebuildInvalid: values['rebuild-invalid'],
        thresholds: deadRatio === undefined ? {} : { deadRatio },
      });
      if (values.json) {
        console.log(JSON.stringify(report, null, 2));
        return report.ok ? 0 : 1;
      }
      if (report.tables.length === 0) console.log('No tables with vectors found.');
      for (const t of report.tables) {
        const s = t.stats;
        console.log(
          `${t.schema}.${t.table}: ${s.liveTuples} live, ${s.deadTuples} dead, ${s.modsSinceAnalyze} changed since ANALYZE → ${t.recommendation.step}`,
        );
        for (const r of t.recommendation.reasons) console.log(`  because ${r}`);
        for (const a of t.actions) {
          const size =
            a.sizeBefore !== undefined && a.sizeAfter !== undefined
              ? ` (${a.sizeBefore} → ${a.sizeAfter} bytes)`
              : '';
          console.log(
            `  ${a.status.padEnd(7)} ${a.sql}  ${a.durationMs} ms${size}${a.error ? `: ${a.error}` : ''}`,
          );
        }
      }
      for (const a of report.rebuilt) {
        console.log(
          `invalid index ${a.target}: ${a.status.padEnd(7)} ${a.sql}  ${a.durationMs} ms${a.error ? `: ${a.error}` : ''}`,
        );
        console.log(`  because ${a.reason}`);
      }
      for (const i of report.invalidIndexes) {
        console.log(
          `INVALID index ${i.schema}.${i.name} on ${i.table} (a failed concurrent build). Fix: prisma-pgvector maintain --rebuild-invalid, or ${i.fix}`,
        );
      }
      console.log(report.ok ? 'Maintenance done.' : 'Maintenance found problems (see above).');
      return report.ok ? 0 : 1;
    }),
};
