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

// A real Next.js 16 App Router app (fixtures/next-app: a fresh Prisma project, no model) from the packed
// tarball: npm install, prisma-pgvector init, prisma generate, prisma migrate deploy, next build (standalone
// output), the standalone server on a loopback port, and its two route handlers over HTTP. Minutes of npm
// and a production build: once per CI run, on the embedded pass (the store's COPY loads and pool searches
// then go through the embedded wire server, as with `npx prisma-pgvector db`).

const record = new AppTestRun('next-app');
afterAll(() => record.close());

describeOnly(
  'embedded',
  'npm install + next build take minutes: once per CI run, on the embedded pass (the Nest app takes the native one)',
  'a Next.js app from the packed tarball',
  () => {
    it('installs, migrates, builds, serves its routes', { timeout: 480_000 }, async () => {
      const started = Date.now();
      const prepared = await prepareApp('next-app');
      record.remove = prepared.remove;
      const { app } = prepared;
      record.mark('pack', started);
      const db = await openTestDatabase({ migrate: false });
      record.db = db;
      const env = { DATABASE_URL: db.url, NEXT_TELEMETRY_DISABLED: '1' };

      await record.step('npm install', () => npmInstall(app));
      await record.step('prisma-pgvector init', () => initVectorStore(app));
      await record.step('prisma generate', () => run('npx', ['prisma', 'generate'], { cwd: app, env }));
      const deploy = await record.step('prisma migrate deploy', () =>
        run('npx', ['prisma', 'migrate', 'deploy'], { cwd: app, env }),
      );
      expect(deploy.stdout).toMatch(/_prisma_pgvector_documents[\s\S]*_documents_embedding_hnsw_idx/);
      const build = await record.step('next build', () =>
        run('npx', ['next', 'build'], {
          cwd: app,
          env: { ...env, NODE_ENV: 'production' },
          timeoutMs: 300_000,
        }),
      );
      expect(build.stdout).toMatch(/ƒ \/api\/search/); // dynamic route handlers, not prerendered

      const port = await freePort();
      const serverStarted = Date.now();
      const server = await startServer(process.execPath, [join('.next', 'standalone', 'server.js')], {
        cwd: app,
        port,
        env: { ...env, NODE_ENV: 'production', PORT: String(port), HOSTNAME: '127.0.0.1' },
      });
      record.server = server;
      record.mark('server ready', serverStarted);

      const { added } = await exerciseVectorApi({
        documents: `${server.url}/api/documents`,
        search: `${server.url}/api/search`,
      });
      expect(added.method).toBe('copy'); // the app's pool reached the store: COPY loads

      // Not JSON at all: the route's own 400, same body shape.
      const notJson = await fetch(`${server.url}/api/search`, { method: 'POST', body: 'nope' });
      expect(notJson.status).toBe(400);
      expect(await notJson.json()).toEqual({
        error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('JSON') },
      });
      expect(server.output()).not.toMatch(/Error/);

      // The database fails under the app: 500, the code, nothing of the SQL; the error in the server log.
      const client = await db.connect();
      try {
        const failure = await exerciseServerFailure(`${server.url}/api/search`, (q) => client.query(q));
        expect(failure.code).not.toBe('INTERNAL_ERROR'); // a PgVectorError, translated by the store
      } finally {
        await client.end();
      }
      expect(server.output()).toMatch(/prisma-pgvector: .*PgVectorError.*42P01/);
      record.mark('total', started);
    });
  },
);
