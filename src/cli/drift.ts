import { parseArgs } from 'node:util';
import { checkDrift } from '../schema/drift.js';
import type { Command } from './command.js';

const help = `Usage: prisma-pgvector drift [--url URL] [--schema FILE] [--migrations DIR] [--json]

Exits 1 and prints the SQL when Prisma would change anything:
  migrations-to-schema    prisma migrate diff --from-migrations DIR --to-schema FILE
  database-to-schema      prisma migrate diff --from-config-datasource --to-schema FILE
  database-to-migrations  every index (method, opclass, WITH, WHERE) and column type (vector dimensions)
                          of the database against a fresh database with only the migrations applied

Options:
  --url URL          database to check (default: $DATABASE_URL; without either, a fresh embedded database
                     with the migrations applied)
  --schema FILE      default prisma/schema.prisma
  --migrations DIR   default prisma/migrations
  --json             machine-readable report`;

export const driftCommand: Command = {
  name: 'drift',
  summary: 'fail when Prisma would drop or alter what the migrations created (vector indexes included)',
  help,
  async run(argv) {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        url: { type: 'string' },
        schema: { type: 'string' },
        migrations: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    const report = await checkDrift({
      databaseUrl: values.url ?? process.env.DATABASE_URL,
      schema: values.schema,
      migrations: values.migrations,
    });
    if (values.json) {
      console.log(JSON.stringify(report, null, 2));
      return report.clean ? 0 : 1;
    }
    console.log(`Drift check on ${report.database}`);
    for (const check of report.checks) {
      console.log(`  ${check.clean ? 'clean' : 'DRIFT'}  ${check.name}`);
      if (check.clean) continue;
      console.log(`         ${check.description}`);
      const body = check.error ? `error: ${check.error}` : check.sql;
      console.log(body.replace(/^/gm, '         | '));
    }
    console.log(
      report.clean ? 'No drift.' : 'Drift found: fix the database or write a migration (see above).',
    );
    return report.clean ? 0 : 1;
  },
};
