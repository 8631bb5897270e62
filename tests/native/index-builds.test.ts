// What only a real server shows, part 3: index builds. CREATE INDEX CONCURRENTLY with progress read from
// pg_stat_progress_create_index on a second session; parallel maintenance workers, seen by the server
// itself (its DEBUG1 messages) and in pg_stat_activity; a concurrent build cancelled mid-way leaves an
// invalid index that `doctor` finds and `maintain --rebuild-invalid` rebuilds, both through the CLI.
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isPgVectorError, PgVectorError } from '../../src/index.js';
import { type BuildProgress, buildIndex, findInvalidIndexes } from '../../src/indexes/build.js';
import type { IndexSpec } from '../../src/indexes/index-spec.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { describeOnly } from '../support/engines.js';
import { runNode } from '../support/prisma-cli.js';

const DIMS = 128;
const ROWS = 30_000;

const spec = (name: string, extra: Partial<IndexSpec> = {}): IndexSpec => ({
  table: 'vecs',
  column: 'embedding',
  name,
  method: 'hnsw',
  type: 'vector',
  dimensions: DIMS,
  metric: 'l2',
  m: 8,
  efConstruction: 32,
  ...extra,
});

const cli = (args: string[]) =>
  runNode(['--import', 'tsx', 'src/cli/index.ts', ...args], { timeoutMs: 120_000 });

describeOnly(
  'native',
  'needs a real server: a second session for pg_stat_progress_create_index, parallel workers, pg_cancel_backend',
  'index builds on a real PostgreSQL',
  () => {
    let db: TestDatabase;
    let admin: pg.Client;

    /** Parallel workers led by `leader`, sampled every 20 ms until `done` settles; the most seen at once. */
    const watchWorkers = async (done: Promise<unknown>) => {
      let settled = false;
      done
        .finally(() => {
          settled = true;
        })
        .catch(() => {});
      let most = 0;
      let leaders = new Set<number>();
      while (!settled) {
        const { rows } = await admin.query<{ leader: number; n: number }>(
          `SELECT leader_pid AS leader, count(*)::int AS n FROM pg_stat_activity
          WHERE backend_type = 'parallel worker' AND leader_pid IN (
            SELECT pid FROM pg_stat_progress_create_index WHERE relid = 'vecs'::regclass)
          GROUP BY leader_pid`,
        );
        for (const r of rows) {
          most = Math.max(most, r.n);
          leaders = new Set([...leaders, r.leader]);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      return { most, leaders };
    };

    const dropIndex = (name: string) => admin.query(`DROP INDEX IF EXISTS "${name}"`);

    beforeAll(async () => {
      db = await openTestDatabase({ migrate: false });
      admin = await db.connect();
      await admin.query('CREATE EXTENSION IF NOT EXISTS vector');
      await admin.query(`CREATE TABLE vecs (id serial PRIMARY KEY, embedding vector(${DIMS}))`);
      // Big enough for PostgreSQL to plan parallel workers by size (heap ≥ min_parallel_table_scan_size).
      await admin.query(
        `INSERT INTO vecs (embedding)
       SELECT (SELECT array_agg(random()::real) FROM generate_series(1, ${DIMS}) WHERE g > 0)::vector(${DIMS})
         FROM generate_series(1, ${ROWS}) g`,
      );
      await admin.query('VACUUM ANALYZE vecs');
    });

    afterAll(async () => {
      await admin?.end();
      await db?.close();
    });

    it('CONCURRENTLY with progress: samples from pg_stat_progress_create_index with real phases and percentages', async () => {
      const events: BuildProgress[] = [];
      const result = await buildIndex(db.url, spec('vecs_progress_idx', { concurrently: true }), {
        onProgress: (p) => events.push(p),
        pollIntervalMs: 100,
      });
      const samples = events.filter((e): e is Extract<BuildProgress, { available: true }> => e.available);
      expect(events.filter((e) => !e.available)).toEqual([]);
      expect(result.progress).toMatch(/^reported \(\d+ samples\)$/);
      expect(samples.length).toBeGreaterThanOrEqual(2);
      const phases = [...new Set(samples.map((s) => s.phase))];
      console.log(
        `progress: ${samples.length} samples in ${result.durationMs} ms, phases: ${phases.join(' | ')}`,
      );
      // A CONCURRENTLY build's own phase names (PostgreSQL's), and pgvector's build phase.
      expect(phases.some((p) => p.startsWith('building index'))).toBe(true);
      const building = samples.filter((s) => s.phase.startsWith('building index') && s.percent !== undefined);
      expect(building.length).toBeGreaterThan(0);
      for (const s of samples) {
        if (s.percent !== undefined) expect(s.percent).toBeGreaterThanOrEqual(0);
        if (s.percent !== undefined) expect(s.percent).toBeLessThanOrEqual(100);
      }
      expect(Math.max(...building.map((s) => s.blocksTotal + s.tuplesTotal))).toBeGreaterThan(0);
      const { rows } = await admin.query(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'vecs_progress_idx'::regclass",
      );
      expect(rows).toEqual([{ indisvalid: true }]);
      await dropIndex('vecs_progress_idx');
    });

    it('parallel maintenance workers: the server plans and launches them (its DEBUG1 lines), pg_stat_activity shows them; 0 asked → serial', async () => {
      // Our own build connection, with the server's DEBUG1 messages: the build's notices then carry
      // PostgreSQL's "with request for N parallel workers" and pgvector's "using N parallel workers".
      const build = await db.connect();
      const poll = await db.connect();
      try {
        await build.query('SET client_min_messages = debug1');
        const parallel = buildIndex(build, spec('vecs_parallel_idx'), {
          parallelWorkers: 2,
          progressConnection: poll,
          onProgress: () => {},
          pollIntervalMs: 50,
        });
        const [result, watched] = await Promise.all([parallel, watchWorkers(parallel)]);
        const requested = result.notices
          .map((n) => /with request for (\d+) parallel workers/.exec(n)?.[1])
          .find(Boolean);
        const launched = result.notices
          .map((n) => /^using (\d+) parallel workers$/.exec(n)?.[1])
          .find(Boolean);
        console.log(
          `parallel build: ${result.durationMs} ms, settings ${JSON.stringify(result.settings)}, planned ${requested}, launched ${launched}, seen ${result.parallelWorkersSeen} (watcher: ${watched.most})`,
        );
        // PostgreSQL plans by the table's size (here 1 worker for ~17 MB of heap); pgvector, once it may use
        // any, launches max_parallel_maintenance_workers of them.
        expect(result.settings.parallelWorkers).toBe(2);
        expect(Number(requested)).toBeGreaterThanOrEqual(1);
        expect(Number(launched)).toBeGreaterThanOrEqual(1);
        expect(Number(launched)).toBeLessThanOrEqual(2);
        expect(watched.most).toBeGreaterThanOrEqual(1);
        expect(result.parallelWorkersSeen).toBeGreaterThanOrEqual(1);
        expect(result.warnings).toEqual([]);
        await dropIndex('vecs_parallel_idx');

        const serial = buildIndex(build, spec('vecs_serial_idx'), {
          parallelWorkers: 0,
          progressConnection: poll,
          onProgress: () => {},
          pollIntervalMs: 50,
        });
        const [one, none] = await Promise.all([serial, watchWorkers(serial)]);
        expect(one.notices.some((n) => /on table "vecs" serially/.test(n))).toBe(true);
        expect(one.notices.some((n) => /parallel workers/.test(n))).toBe(false);
        expect(none.most).toBe(0);
        expect(one.parallelWorkersSeen).toBe(0);
        await dropIndex('vecs_serial_idx');

        // Under 64 MB of maintenance_work_mem PostgreSQL plans no worker at all: we say so before the build.
        const tight = await buildIndex(build, spec('vecs_tight_idx'), {
          parallelWorkers: 2,
          maintenanceWorkMem: '63MB',
        });
        expect(tight.warnings.join(' ')).toContain('is below 64MB: PostgreSQL plans no parallel worker');
        expect(tight.notices.some((n) => /on table "vecs" serially/.test(n))).toBe(true);
        expect(tight.notices.some((n) => /^using \d+ parallel workers$/.test(n))).toBe(false);
        await dropIndex('vecs_tight_idx');
      } finally {
        await build.end();
        await poll.end();
      }
    });

    it('a table below min_parallel_table_scan_size: warned before the build, built serially; parallel_workers = 2 on the table overrides it', async () => {
      await admin.query(`CREATE TABLE small_vecs (id serial PRIMARY KEY, embedding vector(${DIMS}))`);
      await admin.query(
        `INSERT INTO small_vecs (embedding)
       SELECT (SELECT array_agg(random()::real) FROM generate_series(1, ${DIMS}) WHERE g > 0)::vector(${DIMS})
         FROM generate_series(1, 2000) g`,
      );
      const build = await db.connect();
      try {
        await build.query('SET client_min_messages = debug1');
        const small = (name: string) => ({ ...spec(name), table: 'small_vecs' });
        const serial = await buildIndex(build, small('small_serial_idx'), { parallelWorkers: 2 });
        expect(serial.warnings.join(' ')).toMatch(
          /heap is [\d.]+ MB, below min_parallel_table_scan_size \(8 MB\)/,
        );
        expect(serial.notices.some((n) => /on table "small_vecs" serially/.test(n))).toBe(true);
        await admin.query('ALTER TABLE small_vecs SET (parallel_workers = 2)');
        const parallel = await buildIndex(build, small('small_parallel_idx'), { parallelWorkers: 2 });
        expect(parallel.warnings).toEqual([]);
        expect(parallel.notices.some((n) => /with request for 2 parallel workers/.test(n))).toBe(true);
        expect(parallel.notices.some((n) => /^using [12] parallel workers$/.test(n))).toBe(true);
      } finally {
        await build.end();
        await admin.query('DROP TABLE small_vecs');
      }
    });

    it('a concurrent build cancelled mid-way: INDEX_BUILD_FAILED names the invalid index; doctor finds it, maintain --rebuild-invalid rebuilds it (CLI)', async () => {
      const s = spec('vecs_cancel_idx', { concurrently: true });
      let cancelled = false;
      const error = await buildIndex(db.url, s, {
        pollIntervalMs: 50,
        onProgress: (p) => {
          if (cancelled || !p.available || !p.phase.startsWith('building index')) return;
          cancelled = true;
          void admin.query(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_progress_create_index WHERE relid = 'vecs'::regclass",
          );
        },
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(cancelled).toBe(true);
      expect(error).toBeInstanceOf(PgVectorError);
      const e = error as PgVectorError;
      expect(isPgVectorError(e, 'INDEX_BUILD_FAILED'), e.message).toBe(true);
      expect(e.server?.sqlState).toBe('57014');
      expect(e.message).toContain('canceling statement due to user request');
      expect(e.message).toContain('INVALID index "vecs_cancel_idx"');
      expect(e.message).toContain('prisma-pgvector maintain --rebuild-invalid');
      expect((await findInvalidIndexes(db.url)).map((i) => i.name)).toEqual(['vecs_cancel_idx']);
      const definition = async () =>
        (
          await admin.query<{ def: string; valid: boolean }>(
            "SELECT pg_get_indexdef(indexrelid) AS def, indisvalid AS valid FROM pg_index WHERE indexrelid = 'vecs_cancel_idx'::regclass",
          )
        ).rows[0];
      const before = await definition();
      expect(before?.valid).toBe(false);

      // doctor (the CLI): the invalid-index check fails and points at the command.
      const doctor = await cli(['doctor', '--url', db.url, '--table', 'vecs', '--json']);
      expect(doctor.code, doctor.stderr).toBe(1);
      const found = JSON.parse(doctor.stdout).checks.find((c: { id: string }) => c.id === 'invalid-index');
      expect(found.status).toBe('fail');
      expect(found.message).toContain('vecs_cancel_idx');
      expect(found.message).toContain('prisma-pgvector maintain --rebuild-invalid');

      // --dry-run plans it, changes nothing.
      const dry = await cli([
        'maintain',
        '--url',
        db.url,
        '--table',
        'vecs',
        '--rebuild-invalid',
        '--dry-run',
        '--json',
      ]);
      expect(JSON.parse(dry.stdout).rebuilt).toEqual([
        expect.objectContaining({ action: 'rebuild', target: 'vecs_cancel_idx', status: 'planned' }),
      ]);
      expect((await definition())?.valid).toBe(false);

      // maintain --rebuild-invalid (the CLI): REINDEX INDEX CONCURRENTLY, exit 0, nothing invalid left.
      const maintain = await cli([
        'maintain',
        '--url',
        db.url,
        '--table',
        'vecs',
        '--rebuild-invalid',
        '--json',
      ]);
      expect(maintain.code, maintain.stdout + maintain.stderr).toBe(0);
      const report = JSON.parse(maintain.stdout);
      expect(report.rebuilt).toEqual([
        expect.objectContaining({
          action: 'rebuild',
          target: 'vecs_cancel_idx',
          status: 'done',
          sql: expect.stringMatching(/^REINDEX INDEX CONCURRENTLY "public"\."vecs_cancel_idx"$/),
        }),
      ]);
      expect(report.invalidIndexes).toEqual([]);
      expect(report.ok).toBe(true);
      const after = await definition();
      expect(after).toEqual({ def: before?.def, valid: true });
      const { rows } = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'vecs_cancel_idx%'",
      );
      expect(rows[0]?.n).toBe(1); // no _ccnew / _ccold left behind

      const again = await cli(['doctor', '--url', db.url, '--table', 'vecs', '--json']);
      const check = JSON.parse(again.stdout).checks.find((c: { id: string }) => c.id === 'invalid-index');
      expect(check.status).toBe('pass');
    });
  },
);
