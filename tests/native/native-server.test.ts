import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPgVectorError, type PgVectorErrorCode } from '../../src/core/errors.js';
import {
  ensureNativeRoot,
  inspectNativeRoot,
  NATIVE_POSTGRES_MAJOR,
  NATIVE_ROOT_MARKER,
  type NativeServer,
  readAptMirror,
  startNativeServer,
} from '../../src/embedded/native-server.js';
import { describeOnly } from '../support/engines.js';

// The native server module against the real thing: the project's trixie root (.native/root, built first if
// missing) and one throwaway cluster for the file (initdb + start ≈ 1 s).
const canRun =
  process.platform === 'linux' &&
  process.getuid?.() === 0 &&
  ['/usr/sbin/debootstrap', '/usr/bin/debootstrap', '/sbin/debootstrap'].some((path) => existsSync(path));

async function rejectionCode(promise: Promise<unknown>): Promise<PgVectorErrorCode | string> {
  try {
    await promise;
  } catch (error) {
    return isPgVectorError(error) ? error.code : String(error);
  }
  return 'resolved';
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

describeOnly(
  'native',
  'tests the native server module itself (root + debootstrap), once: in the native pass',
  'native server',
  () => {
    describe.skipIf(!canRun)(
      'a throwaway cluster from the native root (needs Linux, root and debootstrap)',
      () => {
        let server: NativeServer;
        beforeAll(async () => {
          server = await startNativeServer({ settings: { work_mem: '8MB' } });
        }, 600_000);
        afterAll(async () => {
          await server?.destroy();
        });

        it('serves PostgreSQL 17 + pgvector on loopback, trust auth for 127.0.0.1 only', async () => {
          expect(server.url).toBe(`postgresql://postgres@127.0.0.1:${server.port}/postgres`);
          expect(server.port).toBeGreaterThan(0);
          expect(existsSync(join(server.dataDir, 'PG_VERSION'))).toBe(true);
          await withClient(server.url, async (client) => {
            const version = await client.query<{ server_version_num: string }>('SHOW server_version_num');
            expect(Math.floor(Number(version.rows[0]?.server_version_num) / 10_000)).toBe(
              NATIVE_POSTGRES_MAJOR,
            );
            await client.query('CREATE EXTENSION vector');
            const distance = await client.query<{ d: number }>(
              "SELECT '[1,2,3]'::vector <-> '[1,2,5]'::vector AS d",
            );
            expect(distance.rows[0]?.d).toBe(2);
            const settings = await client.query<{ name: string; setting: string }>(
              `SELECT name, setting FROM pg_settings
              WHERE name IN ('listen_addresses', 'max_connections', 'work_mem', 'dynamic_shared_memory_type')`,
            );
            expect(Object.fromEntries(settings.rows.map((r) => [r.name, r.setting]))).toEqual({
              dynamic_shared_memory_type: 'sysv',
              listen_addresses: '127.0.0.1',
              max_connections: '200',
              work_mem: String(8 * 1024),
            });
            const hba = await client.query<{ type: string; address: string | null; auth_method: string }>(
              'SELECT type, address, auth_method FROM pg_hba_file_rules ORDER BY rule_number',
            );
            expect(hba.rows).toEqual([
              { type: 'local', address: null, auth_method: 'trust' },
              { type: 'host', address: '127.0.0.1', auth_method: 'trust' },
            ]);
          });
        });

        it('keeps the data across a fast stop and start, on the same port', async () => {
          await withClient(server.url, async (client) => {
            await client.query('CREATE TABLE kept (id int PRIMARY KEY)');
            await client.query('INSERT INTO kept SELECT generate_series(1, 100)');
          });
          const port = server.port;
          await server.stop();
          expect(await server.isRunning()).toBe(false);
          expect(await rejectionCode(withClient(server.url, async () => {}))).toMatch(/ECONNREFUSED/);
          await server.start();
          expect(server.port).toBe(port);
          const count = await withClient(server.url, (c) =>
            c.query<{ n: number }>('SELECT count(*)::int AS n FROM kept'),
          );
          expect(count.rows[0]?.n).toBe(100);
        });

        it('recovers committed rows after an immediate stop; the open transaction is gone', async () => {
          const writer = new pg.Client({ connectionString: server.url });
          writer.on('error', () => {}); // the server goes away under it
          await writer.connect();
          await writer.query('CREATE TABLE crash (id int PRIMARY KEY)');
          await writer.query('INSERT INTO crash SELECT generate_series(1, 1000)');
          await writer.query('BEGIN');
          await writer.query('INSERT INTO crash SELECT generate_series(1001, 2000)');
          await server.stop({ mode: 'immediate' });
          expect(await rejectionCode(writer.query('COMMIT'))).not.toBe('resolved');
          await writer.end().catch(() => {});
          await server.start();
          expect(server.logTail(200)).toMatch(/not properly shut down|automatic recovery|redo/);
          const rows = await withClient(server.url, (c) =>
            c.query<{ n: number; max: number }>('SELECT count(*)::int AS n, max(id) AS max FROM crash'),
          );
          expect(rows.rows[0]).toEqual({ n: 1000, max: 1000 });
        });

        it('refuses a port that is taken (PORT_IN_USE), leaving no cluster behind', async () => {
          const clusters = readdirSync(dirname(dirname(server.dataDir))).length;
          expect(await rejectionCode(startNativeServer({ port: server.port }))).toBe('PORT_IN_USE');
          const listener: Server = createServer();
          await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
          const address = listener.address();
          const port = typeof address === 'object' && address ? address.port : 0;
          try {
            expect(await rejectionCode(startNativeServer({ port }))).toBe('PORT_IN_USE');
          } finally {
            await new Promise((resolve) => listener.close(resolve));
          }
          expect(readdirSync(dirname(dirname(server.dataDir))).length).toBe(clusters);
        });

        it('runs a second cluster from the same root at the same time; destroy removes its folder', async () => {
          const second = await startNativeServer({ root: server.root });
          try {
            expect(second.port).not.toBe(server.port);
            expect(second.dataDir).not.toBe(server.dataDir);
            const [a, b] = await Promise.all([
              withClient(server.url, (c) => c.query<{ n: number }>('SELECT count(*)::int AS n FROM kept')),
              withClient(second.url, (c) =>
                c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'kept'"),
              ),
            ]);
            expect([a.rows[0]?.n, b.rows[0]?.n]).toEqual([100, 0]);
          } finally {
            await second.destroy();
          }
          expect(existsSync(dirname(second.dataDir))).toBe(false);
          expect(await second.isRunning()).toBe(false);
          await second.destroy(); // idempotent
        });

        it('refuses settings that belong to the module (loopback only)', async () => {
          expect(await rejectionCode(startNativeServer({ settings: { listen_addresses: '*' } }))).toBe(
            'INVALID_ARGUMENT',
          );
        });

        describe('a broken root', () => {
          const scratch = mkdtempSync(join(tmpdir(), 'ppv-native-root-'));
          afterAll(() => rmSync(scratch, { recursive: true, force: true }));

          /** Everything a healthy root has, as empty files, except what `leaveOut` names. */
          function fakeRoot(name: string, leaveOut: string): string {
            const dir = join(scratch, name);
            const files = [
              `usr/lib/postgresql/${NATIVE_POSTGRES_MAJOR}/bin/initdb`,
              `usr/lib/postgresql/${NATIVE_POSTGRES_MAJOR}/bin/pg_ctl`,
              `usr/lib/postgresql/${NATIVE_POSTGRES_MAJOR}/bin/postgres`,
              `usr/lib/postgresql/${NATIVE_POSTGRES_MAJOR}/lib/vector.so`,
              `usr/share/postgresql/${NATIVE_POSTGRES_MAJOR}/extension/vector.control`,
            ];
            for (const file of files.filter((f) => !f.endsWith(leaveOut))) {
              mkdirSync(dirname(join(dir, file)), { recursive: true });
              writeFileSync(join(dir, file), '');
            }
            mkdirSync(join(dir, 'etc'), { recursive: true });
            writeFileSync(join(dir, 'etc/passwd'), 'postgres:x:100:102::/var/lib/postgresql:/bin/bash\n');
            if (leaveOut !== NATIVE_ROOT_MARKER) {
              writeFileSync(join(dir, NATIVE_ROOT_MARKER), '{"format":1,"suite":"trixie"}\n');
            }
            return dir;
          }

          it('is detected: the project root is healthy, a root without vector.so or the marker is not', () => {
            expect(inspectNativeRoot(server.root)).toMatchObject({ healthy: true, missing: [] });
            expect(inspectNativeRoot(fakeRoot('complete', 'nothing')).healthy).toBe(true);
            expect(inspectNativeRoot(fakeRoot('no-vector', 'vector.so')).missing).toEqual([
              `/usr/lib/postgresql/${NATIVE_POSTGRES_MAJOR}/lib/vector.so`,
            ]);
            expect(inspectNativeRoot(fakeRoot('half-built', NATIVE_ROOT_MARKER)).missing).toEqual([
              `/${NATIVE_ROOT_MARKER}`,
            ]);
            expect(inspectNativeRoot(join(scratch, 'absent')).healthy).toBe(false);
          });

          it('is never reused: it is rebuilt, and a failed rebuild (mirror unreachable) leaves no half-built root', async () => {
            const dir = fakeRoot('rebuild', NATIVE_ROOT_MARKER);
            expect(await rejectionCode(ensureNativeRoot({ dir, build: false }))).toBe('NATIVE_ROOT_FAILED');
            // A mirror nobody serves: debootstrap fails at once, and the error shows its log.
            const unreachable = 'http://127.0.0.1:9/debian';
            let message = '';
            try {
              await startNativeServer({ root: dir, mirror: unreachable });
            } catch (error) {
              expect(isPgVectorError(error, 'NATIVE_ROOT_FAILED')).toBe(true);
              message = (error as Error).message;
            }
            expect(message).toMatch(/debootstrap could not build the native root/);
            expect(message).toMatch(/Failed getting release file/);
            expect(message).toMatch(/Fix: Check that this mirror is reachable/);
            expect(readdirSync(scratch).filter((name) => name.startsWith('rebuild.build-'))).toEqual([]);
            expect(existsSync(`${dir}.lock`)).toBe(false);
            expect(inspectNativeRoot(dir).healthy).toBe(false);
          });
        });

        it('reads the mirror from apt’s own sources: the main archive, not security or updates', () => {
          const apt = mkdtempSync(join(tmpdir(), 'ppv-apt-'));
          try {
            mkdirSync(join(apt, 'sources.list.d'));
            writeFileSync(
              join(apt, 'sources.list.d/debian.sources'),
              'Types: deb\nURIs: http://security.mirror.invalid/debian-security\nSuites: bookworm-security\n\n' +
                'Types: deb-src\nURIs: http://src.mirror.invalid/debian\nSuites: bookworm\n\n' +
                'Types: deb\nURIs: http://main.mirror.invalid/debian/\nSuites: bookworm bookworm-updates\n',
            );
            expect(readAptMirror(apt)).toBe('http://main.mirror.invalid/debian');
            rmSync(join(apt, 'sources.list.d/debian.sources'));
            writeFileSync(
              join(apt, 'sources.list'),
              '# deb http://old.mirror.invalid/debian bookworm main\n' +
                'deb [arch=amd64 signed-by=/k.gpg] http://list.mirror.invalid/debian bookworm main\n',
            );
            expect(readAptMirror(apt)).toBe('http://list.mirror.invalid/debian');
            rmSync(join(apt, 'sources.list'));
            expect(readAptMirror(apt)).toBeUndefined();
          } finally {
            rmSync(apt, { recursive: true, force: true });
          }
        });
      },
    );
  },
);
