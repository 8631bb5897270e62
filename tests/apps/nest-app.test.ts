import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openTestDatabase } from '../support/database.js';
import { describeOnly } from '../support/engines.js';
import { exerciseServerFailure, exerciseVectorApi } from './api-scenario.js';
import {
  AppTestRun,
  freePort,
  initVectorStore,
  npmInstall,
  prepareApp,
  run,
  startServer,
} from './app-fixture.js';

// A real NestJS 12 app (fixtures/nest-app: the `nest new` tsconfig, CommonJS output; a fresh Prisma project
// with `moduleFormat = "cjs"`, no model) from the packed tarball: npm install, prisma-pgvector init, prisma
// generate, prisma migrate deploy, tsc -p tsconfig.build.json, node dist/main.js on a loopback port, and its
// controller over HTTP. Minutes of npm: once per CI run, on the native pass.

const record = new AppTestRun('nest-app');
afterAll(() => record.close());

describeOnly(
  'native',
  'npm install + an app build take minutes: once per CI run, on the native pass (the Next app takes the embedded one)',
  'a NestJS app from the packed tarball',
  () => {
    it('installs, migrates, builds, serves its controller', { timeout: 480_000 }, async () => {
      const started = Date.now();
      const prepared = await prepareApp('nest-app');
      record.remove = prepared.remove;
      const { app } = prepared;
      record.mark('pack', started);
      const db = await openTestDatabase({ migrate: false });
      record.db = db;
      const env = { DATABASE_URL: db.url };

      await record.step('npm install', () => npmInstall(app));
      await record.step('prisma-pgvector init', () => initVectorStore(app));
      await record.step('prisma generate', () => run('npx', ['prisma', 'generate'], { cwd: app, env }));
      const deploy = await record.step('prisma migrate deploy', () =>
        run('npx', ['prisma', 'migrate', 'deploy'], { cwd: app, env }),
      );
      expect(deploy.stdout).toMatch(/_prisma_pgvector_documents[\s\S]*_documents_embedding_hnsw_idx/);
      await record.step('tsc', () => run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: app }));
      // CommonJS output, prisma.config.ts left out of dist/ (else dist/main.js moves to dist/src/main.js).
      expect(readFileSync(join(app, 'dist', 'main.js'), 'utf8')).toContain('require("@nestjs/core")');

      const port = await freePort();
      const serverStarted = Date.now();
      const server = await startServer(process.execPath, [join('dist', 'main.js')], {
        cwd: app,
        port,
        env: { ...env, NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', NO_COLOR: '1' },
      });
      record.server = server;
      record.mark('server ready', serverStarted);

      const { added } = await exerciseVectorApi({
        documents: `${server.url}/documents`,
        search: `${server.url}/search`,
      });
      expect(added.method).toBe('copy'); // the app's pool (PrismaService.pool) reached the store

      // Errors that are not the store's stay Nest's: its own 400 for a body that is not JSON.
      const notJson = await fetch(`${server.url}/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: 'nope',
      });
      expect(notJson.status).toBe(400);
      expect(server.output()).not.toMatch(/ERROR/);

      // The database fails under the app: PgVectorExceptionFilter answers 500 with the code, nothing of the
      // SQL, and logs the error through Nest's logger.
      const client = await db.connect();
      try {
        const failure = await exerciseServerFailure(`${server.url}/search`, (q) => client.query(q));
        expect(failure.code).not.toBe('INTERNAL_ERROR');
      } finally {
        await client.end();
      }
      expect(server.output()).toMatch(/ERROR \[PgVectorExceptionFilter\]/);
      record.mark('total', started);
    });
  },
);
