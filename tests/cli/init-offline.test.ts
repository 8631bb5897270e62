import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { runNode, runPrisma } from '../support/prisma-cli.js';
import { APP_SCHEMA, createAppProject, runCli } from './init-project.js';

// The Prisma CLI from an app, through our offline schema engine only (PRISMA_PGVECTOR_SCHEMA_ENGINE=wasm: even
// where a native engine is installed): `prisma init` before any config exists, `prisma-pgvector init --prisma`
// in a project without Prisma files, and `prisma migrate dev` in a project with no migrations yet.

let db: TestDatabase;
const wasm = { PRISMA_PGVECTOR_SCHEMA_ENGINE: 'wasm', PRISMA_SCHEMA_ENGINE_BINARY: undefined };

beforeAll(async () => {
  db = await openTestDatabase({ migrate: false });
});

afterAll(async () => {
  await db?.close();
});

describe('the offline schema engine from an app', () => {
  it('prisma init works before any prisma.config.ts exists, with PRISMA_SCHEMA_ENGINE_BINARY from --path', async () => {
    const app = createAppProject('ppv-offline-init-', {
      'prisma.config.ts': null,
      'prisma/schema.prisma': null,
    });
    try {
      const path = await runNode(
        [join(app.dir, 'node_modules/prisma-pgvector/engine/schema-engine.mjs'), '--path'],
        {
          cwd: app.dir,
        },
      );
      expect(path.code, path.stderr).toBe(0);
      const bridge = path.stdout.trim();
      expect(existsSync(bridge)).toBe(true);
      const init = await runPrisma(['init', '--no-skills', '--datasource-provider', 'postgresql'], {
        databaseUrl: '',
        cwd: app.dir,
        env: { PRISMA_SCHEMA_ENGINE_BINARY: bridge },
      });
      expect(init.code, init.stdout + init.stderr).toBe(0);
      expect(readFileSync(join(app.dir, 'prisma/schema.prisma'), 'utf8')).toContain(
        'provider = "postgresql"',
      );
      // Prisma 7.10 names it prisma7.config.ts (prisma.config.ts is the older name; both load).
      const configs = readdirSync(app.dir).filter((f) => /^prisma.*\.config\.ts$/.test(f));
      expect(configs).toHaveLength(1);
      // prisma-pgvector init on top of what prisma init wrote: the wiring goes into that config file, and the
      // CLI then loads it (the bridge from the config, no variable set).
      const ours = await runCli(app.dir, [
        'init',
        '--yes',
        '--index',
        'none',
        '--dimensions',
        '3',
        '--offline-engine',
      ]);
      expect(ours.code, ours.stdout + ours.stderr).toBe(0);
      const config = readFileSync(join(app.dir, configs[0] as string), 'utf8');
      expect(config).toMatch(
        /import \{ defineConfig \} from "prisma\/config";\nimport \{ useOfflineSchemaEngine \} from 'prisma-pgvector\/schema-engine';\n/,
      );
      const validate = await runPrisma(['validate'], { databaseUrl: db.url, cwd: app.dir, env: wasm });
      expect(validate.code, validate.stdout + validate.stderr).toBe(0);
      expect(validate.stdout + validate.stderr).toContain('is valid');
    } finally {
      app.remove();
    }
  });

  it('prisma-pgvector init --prisma creates the Prisma files itself; migrate deploy applies its migrations', async () => {
    const app = createAppProject('ppv-offline-own-', {
      'prisma.config.ts': null,
      'prisma/schema.prisma': null,
    });
    try {
      const r = await runCli(app.dir, ['init', '--prisma', '--yes', '--dimensions', '3']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const config = readFileSync(join(app.dir, 'prisma.config.ts'), 'utf8');
      expect(config).toContain("import { useOfflineSchemaEngine } from 'prisma-pgvector/schema-engine';");
      expect(config).toContain("schema: 'prisma/schema.prisma'");
      expect(readFileSync(join(app.dir, 'prisma/schema.prisma'), 'utf8')).toContain('model Document {');
      const deploy = await runPrisma(['migrate', 'deploy'], { databaseUrl: db.url, cwd: app.dir, env: wasm });
      expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);
      expect(deploy.stdout).toContain('All migrations have been successfully applied.');
      const client = await db.connect();
      try {
        const { rows } = await client.query("SELECT to_regclass('public.documents') IS NOT NULL AS ok");
        expect(rows).toEqual([{ ok: true }]);
        // Leave the database empty for the next test (a project of its own).
        await client.query('DROP TABLE documents; DROP TABLE _prisma_migrations');
      } finally {
        await client.end();
      }
    } finally {
      app.remove();
    }
  });

  // migrate dev: ~15 s on a quiet machine, 45-60 s on a busy one (WASM engine, a shadow database).
  it('prisma migrate dev --name init works in a project with no migrations (no migration_lock.toml yet)', {
    timeout: 240_000,
  }, async () => {
    const app = createAppProject('ppv-offline-dev-', {
      'prisma.config.ts': `import { defineConfig } from 'prisma/config';
import { useOfflineSchemaEngine } from 'prisma-pgvector/schema-engine';

useOfflineSchemaEngine();

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? '' },
});
`,
      'prisma/schema.prisma': `${APP_SCHEMA}
model User {
  id    Int    @id @default(autoincrement())
  email String @unique
}
`,
    });
    try {
      const dev = await runPrisma(['migrate', 'dev', '--name', 'init'], {
        databaseUrl: db.url,
        cwd: app.dir,
        env: wasm,
      });
      expect(dev.code, dev.stdout + dev.stderr).toBe(0);
      expect(dev.stdout + dev.stderr).not.toContain('Could not determine the connector');
      const dir = join(app.dir, 'prisma/migrations');
      const migrations = readdirSync(dir).sort();
      expect(migrations).toEqual([expect.stringMatching(/^\d{14}_init$/), 'migration_lock.toml']);
      expect(readFileSync(join(dir, 'migration_lock.toml'), 'utf8')).toContain('provider = "postgresql"');
      expect(readFileSync(join(dir, migrations[0] as string, 'migration.sql'), 'utf8')).toContain(
        'CREATE TABLE "User"',
      );
      // The CLI reads the lock file it wrote and finds the database up to date.
      const status = await runPrisma(['migrate', 'status'], { databaseUrl: db.url, cwd: app.dir, env: wasm });
      expect(status.code, status.stdout + status.stderr).toBe(0);
      expect(status.stdout).toContain('Database schema is up to date!');
      expect(readdirSync(dir)).toHaveLength(2);
    } finally {
      app.remove();
    }
  });
});
