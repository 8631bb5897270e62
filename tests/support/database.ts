import { randomBytes } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { type EmbeddedServer, startEmbeddedServer } from '../../src/embedded/server.js';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { runPrisma } from './prisma-cli.js';

/**
 * A database for one test file: the embedded PGlite + pgvector served over the wire (default), or — when
 * TEST_DATABASE_URL is set — a database of its own on that external PostgreSQL + pgvector server
 * (`ppv_test_<hex>`, created from `template0` here and dropped `WITH (FORCE)` on close); nothing else there
 * is touched. A database, not a schema: `CREATE EXTENSION vector` is per database, and in a schema of one
 * file it would be dropped with that file's schema.
 */
export interface TestDatabase {
  readonly kind: 'embedded' | 'external';
  /** URL for `pg`, Prisma Client (adapter-pg) and the Prisma CLI: plain `postgresql://…/<database>`. */
  readonly url: string;
  /** The schema holding the tables: `public` on both engines. */
  readonly schema: string;
  /** A Prisma Client over `@prisma/adapter-pg`, as apps use it. */
  readonly prisma: PrismaClient;
  /** The embedded server, when kind is `embedded`. */
  readonly server: EmbeddedServer | undefined;
  /** `pg` connection settings of that database, e.g. for a `pg.Pool` shared with Prisma. */
  readonly poolConfig: pg.PoolConfig;
  /** A `pg` client on the same database, for catalogue checks. */
  connect(): Promise<pg.Client>;
  close(): Promise<void>;
}

export interface OpenTestDatabaseOptions {
  /** Apply prisma/migrations with `prisma migrate deploy` (the real CLI). Default true. */
  readonly migrate?: boolean;
  /**
   * Load pgvector in the embedded database. Default true. An external server has pgvector installed; false
   * is refused there (tests of a server without pgvector are `describeOnly('embedded', …)`).
   */
  readonly vector?: boolean;
}

/** The external server's URL (TEST_DATABASE_URL), or undefined: the embedded database is used. */
export const externalUrl = process.env.TEST_DATABASE_URL || undefined;

/** Prefix of the databases the harness creates on an external server. */
export const TEST_DATABASE_PREFIX = 'ppv_test_';

export async function openTestDatabase(options: OpenTestDatabaseOptions = {}): Promise<TestDatabase> {
  let server: EmbeddedServer | undefined;
  let url: string;
  let drop: (() => Promise<void>) | undefined;
  if (externalUrl) {
    if (options.vector === false)
      throw new Error(
        'openTestDatabase({ vector: false }) needs the embedded database (no TEST_DATABASE_URL)',
      );
    const created = await createExternalDatabase(externalUrl);
    url = created.url;
    drop = created.drop;
  } else {
    server = await startEmbeddedServer({ port: 0, memory: true, vector: options.vector ?? true });
    url = server.url;
  }
  try {
    if (options.migrate ?? true) {
      const result = await runPrisma(['migrate', 'deploy'], { databaseUrl: url });
      if (result.code !== 0)
        throw new Error(`prisma migrate deploy failed:\n${result.stdout}\n${result.stderr}`);
    }
  } catch (error) {
    await drop?.();
    await server?.stop();
    throw error;
  }
  const poolConfig: pg.PoolConfig = { connectionString: url };
  const prisma = new PrismaClient({ adapter: new PrismaPg(poolConfig, { schema: 'public' }) });
  return {
    kind: externalUrl ? 'external' : 'embedded',
    url,
    schema: 'public',
    prisma,
    server,
    poolConfig,
    async connect() {
      const client = new pg.Client(poolConfig);
      await client.connect();
      return client;
    },
    async close() {
      await prisma.$disconnect();
      await drop?.();
      await server?.stop();
    },
  };
}

/**
 * Creates an empty database `ppv_test_<hex>` on the server of `serverUrl` (any database of it), from
 * `template0` so that nothing installed in `template1` leaks in. Returns its URL and a `drop()` that removes
 * it even while connections are still open (`DROP DATABASE … WITH (FORCE)`, PostgreSQL 13+).
 *
 * ### Examples
 * ```ts
 * const shadow = await createExternalDatabase(process.env.TEST_DATABASE_URL!);
 * // … SHADOW_DATABASE_URL=shadow.url …
 * await shadow.drop();
 * ```
 */
export async function createExternalDatabase(
  serverUrl: string,
): Promise<{ readonly name: string; readonly url: string; drop(): Promise<void> }> {
  const name = `${TEST_DATABASE_PREFIX}${randomBytes(5).toString('hex')}`;
  await withClient(serverUrl, async (admin) => {
    await dropLeftovers(admin);
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE template0`);
    await admin.query(`COMMENT ON DATABASE "${name}" IS '${leftoverComment()}'`);
  });
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const drop = () =>
    withClient(serverUrl, async (admin) => {
      // `pool.end()` resolves before its clients' sockets close: give sessions that are already ending a
      // moment to go on their own, or FORCE terminates them and their pool emits an unhandled 57P01.
      for (let waited = 0; waited < 3000; waited += 50) {
        const { rows } = await admin.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        );
        if ((rows[0]?.n ?? 0) === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    });
  try {
    // Isolation relies on the server keeping databases apart. The embedded wire server (pglite-socket)
    // ignores the database name, so it cannot stand in for an external server here.
    const { rows } = await withClient(url, (c) => c.query<{ db: string }>('SELECT current_database() AS db'));
    if (rows[0]?.db !== name) {
      throw new Error(
        `TEST_DATABASE_URL: connected to "${name}" but the server says "${rows[0]?.db}". ` +
          'Use a real PostgreSQL + pgvector; the embedded database is what the tests use without it.',
      );
    }
  } catch (error) {
    await drop().catch(() => {});
    throw error;
  }
  return { name, url, drop };
}

/**
 * A login role for a test that changes role-level settings (`ALTER ROLE CURRENT_USER SET …`): on an external
 * server roles are shared by every database (and every test file running at the same time), so such a test
 * runs as a superuser role of its own, `ppv_test_<hex>`, dropped (with its settings) by `drop()`. On the
 * embedded server, one per test file, it is the default role and `url` is `db.url`.
 *
 * ### Examples
 * ```ts
 * const role = await createTestRole(db);
 * try { await tune(role.url, { …, persist: 'role' }); } finally { await role.drop(); }
 * ```
 */
export async function createTestRole(
  db: TestDatabase,
): Promise<{ readonly name: string | undefined; readonly url: string; drop(): Promise<void> }> {
  if (db.kind === 'embedded') return { name: undefined, url: db.url, drop: async () => {} };
  const name = `${TEST_DATABASE_PREFIX}${randomBytes(5).toString('hex')}`;
  const password = randomBytes(12).toString('hex'); // for servers with password authentication
  await withClient(db.url, async (c) => {
    await c.query(`CREATE ROLE "${name}" LOGIN SUPERUSER PASSWORD '${password}'`);
    await c.query(`COMMENT ON ROLE "${name}" IS '${leftoverComment()}'`);
  });
  const u = new URL(db.url);
  u.username = name;
  u.password = password;
  return {
    name,
    url: u.toString(),
    drop: () => withClient(db.url, (c) => c.query(`DROP ROLE IF EXISTS "${name}"`)).then(() => undefined),
  };
}

/** Databases and roles of ours older than this are leftovers of killed runs (close() never ran). */
const LEFTOVER_AGE_HOURS = 6;
const COMMENT_PREFIX = 'prisma-pgvector test, created ';
const leftoverComment = () => `${COMMENT_PREFIX}${new Date().toISOString()}`;
let leftoversDropped = false;

/**
 * Once per process: drops `ppv_test_*` databases (with no session left) and roles that this harness created
 * more than {@link LEFTOVER_AGE_HOURS} hours ago, by the creation time in their comment. Nothing else.
 */
async function dropLeftovers(admin: pg.Client): Promise<void> {
  if (leftoversDropped) return;
  leftoversDropped = true;
  const old = `CASE WHEN starts_with(c, $2)
    THEN substr(c, length($2) + 1)::timestamptz < now() - make_interval(hours => $3) ELSE false END`;
  const params = [`${TEST_DATABASE_PREFIX}%`, COMMENT_PREFIX, LEFTOVER_AGE_HOURS];
  const dbs = await admin.query<{ name: string }>(
    `SELECT d.datname AS name FROM pg_database d, shobj_description(d.oid, 'pg_database') c
      WHERE d.datname LIKE $1 AND ${old}
        AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)`,
    params,
  );
  for (const { name } of dbs.rows) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  const roles = await admin.query<{ name: string }>(
    `SELECT r.rolname AS name FROM pg_roles r, shobj_description(r.oid, 'pg_authid') c
      WHERE r.rolname LIKE $1 AND ${old}`,
    params,
  );
  for (const { name } of roles.rows) await admin.query(`DROP ROLE IF EXISTS "${name}"`).catch(() => {});
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
