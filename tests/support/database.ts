import { randomBytes } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { type EmbeddedServer, startEmbeddedServer } from '../../src/embedded/server.js';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { runPrisma } from './prisma-cli.js';

/**
 * A database for one test file: the embedded PGlite + pgvector served over the wire (default), or — when
 * TEST_DATABASE_URL is set — a schema of its own on that external PostgreSQL + pgvector, created here and
 * dropped on close; nothing else there is touched.
 */
export interface TestDatabase {
  readonly kind: 'embedded' | 'external';
  /** URL for `pg`, Prisma and the Prisma CLI (carries `?schema=` on an external server). */
  readonly url: string;
  /** The schema holding the tables (`public` on the embedded database). */
  readonly schema: string;
  /** A Prisma Client over `@prisma/adapter-pg`, as apps use it. */
  readonly prisma: PrismaClient;
  /** The embedded server, when kind is `embedded`. */
  readonly server: EmbeddedServer | undefined;
  /** `pg` connection settings of that database (search_path set), e.g. for a `pg.Pool` shared with Prisma. */
  readonly poolConfig: pg.PoolConfig;
  /** A `pg` client on the same database (search_path set), for catalogue checks. */
  connect(): Promise<pg.Client>;
  close(): Promise<void>;
}

export interface OpenTestDatabaseOptions {
  /** Apply prisma/migrations with `prisma migrate deploy` (the real CLI). Default true. */
  readonly migrate?: boolean;
  /** Load pgvector in the embedded database. Default true. */
  readonly vector?: boolean;
}

export const externalUrl = process.env.TEST_DATABASE_URL || undefined;

export async function openTestDatabase(options: OpenTestDatabaseOptions = {}): Promise<TestDatabase> {
  let server: EmbeddedServer | undefined;
  let url: string;
  let schema = 'public';
  let dropSchema: (() => Promise<void>) | undefined;
  if (externalUrl) {
    schema = `ppv_test_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: externalUrl, options: `-c search_path=${schema}` });
    await admin.connect();
    try {
      // Isolation relies on the server honouring startup options (search_path). The embedded wire server
      // (pglite-socket) ignores them, so it cannot stand in for an external server here.
      const { rows } = await admin.query<{ search_path: string }>('SHOW search_path');
      if (rows[0]?.search_path !== schema) {
        throw new Error(
          `TEST_DATABASE_URL: the server ignored the startup option search_path (got "${rows[0]?.search_path}"). ` +
            'Use a real PostgreSQL + pgvector; the embedded database is what the tests use without it.',
        );
      }
      await admin.query(`CREATE SCHEMA "${schema}"`);
    } finally {
      await admin.end();
    }
    const u = new URL(externalUrl);
    u.searchParams.set('schema', schema);
    url = u.toString();
    dropSchema = async () => {
      const c = new pg.Client({ connectionString: externalUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    };
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
    await dropSchema?.();
    await server?.stop();
    throw error;
  }
  const searchPath = schema === 'public' ? 'public' : `"${schema}", public`;
  const poolConfig = { connectionString: stripSchema(url), options: `-c search_path=${searchPath}` };
  const prisma = new PrismaClient({ adapter: new PrismaPg(poolConfig, { schema }) });
  return {
    kind: externalUrl ? 'external' : 'embedded',
    url,
    schema,
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
      await dropSchema?.();
      await server?.stop();
    },
  };
}

/** `pg` does not know Prisma's `?schema=` parameter. */
function stripSchema(url: string): string {
  const u = new URL(url);
  u.searchParams.delete('schema');
  return u.toString();
}
