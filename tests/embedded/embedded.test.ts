import { type ChildProcess, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { isPgVectorError, type PgVectorErrorCode } from '../../src/core/errors.js';
import { DATA_DIR_LOCK_FILE, PGLITE_POSTGRES_MAJOR } from '../../src/embedded/data-dir.js';
import { type EmbeddedDatabase, openEmbeddedDatabase } from '../../src/embedded/pglite.js';
import {
  type EmbeddedServer,
  type EmbeddedServerEvent,
  type EmbeddedServerOptions,
  startEmbeddedServer,
} from '../../src/embedded/server.js';
import { concatBytes, encodeMessage, MessageType } from '../../src/embedded/wire-protocol.js';
import { describeOnly } from '../support/engines.js';
import { cstring, RawClient, text } from '../support/raw-pg-client.js';

const ENGINE_ONLY = 'tests the embedded PGlite engine itself';

// The embedded database, its wire server and the `db` command, against the real PGlite.
// initdb takes ~6 s: it runs once, then each test gets a copy of that (cleanly closed) data directory.
const repo = fileURLToPath(new URL('../..', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'pgv-embedded-'));
const template = join(root, 'template');
/** The same with `CREATE EXTENSION vector` and a table `items (id int PRIMARY KEY, note text)`. */
const serverTemplate = join(root, 'server-template');
let copies = 0;
const copyOf = (source: string): string => {
  const dir = join(root, `copy${copies++}`);
  cpSync(source, dir, { recursive: true });
  return dir;
};
const copyOfTemplate = (): string => copyOf(template);
beforeAll(async () => {
  await (await openEmbeddedDatabase({ dataDir: template })).close();
  cpSync(template, serverTemplate, { recursive: true });
  const database = await openEmbeddedDatabase({ dataDir: serverTemplate });
  await database.pglite.exec('CREATE EXTENSION vector; CREATE TABLE items (id int PRIMARY KEY, note text);');
  await database.close();
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function rejectionCode(promise: Promise<unknown>): Promise<PgVectorErrorCode | undefined> {
  try {
    await promise;
  } catch (error) {
    if (isPgVectorError(error)) return error.code;
    throw error;
  }
  return undefined;
}

function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map(
      (entry) =>
        `${join(entry.parentPath, entry.name)}:${entry.isFile() ? readFileSync(join(entry.parentPath, entry.name)).length : 'dir'}`,
    )
    .sort();
}

// Quick to notice a wedge, with some slack for a loaded machine.
const fastWatchdog = { intervalMs: 100, timeoutMs: 500, failuresBeforeRestart: 2 };

/** A server on a fresh copy of the server template, port 0, with its events recorded. */
async function serve(options: EmbeddedServerOptions = {}) {
  const events: EmbeddedServerEvent[] = [];
  const server = await startEmbeddedServer({
    port: 0,
    dataDir: copyOf(serverTemplate),
    ...options,
    onEvent: (e) => events.push(e),
  });
  const waitForEvent = (type: EmbeddedServerEvent['type'], timeout = 10_000) =>
    vi.waitFor(
      () => {
        const event = events.find((e) => e.type === type);
        if (!event)
          throw new Error(`no ${type} event yet; got ${events.map((e) => e.type).join(', ') || 'none'}`);
        return event;
      },
      { timeout, interval: 50 },
    );
  return { server, events, waitForEvent };
}

async function query<R extends pg.QueryResultRow>(server: EmbeddedServer, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

const queryMessage = (sql: string): Uint8Array => encodeMessage(MessageType.Query, cstring(sql));

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

/** Runs `prisma-pgvector db ...` as `npm run db` does (tsx), in its own process. */
function runDb(args: readonly string[], env: NodeJS.ProcessEnv = {}): Run {
  // `node --import tsx` rather than `npx tsx`: no wrapper process between the test and the signal handler.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'db', ...args], {
    cwd: repo,
    env: { ...process.env, PGVECTOR_DB_PORT: '', PGVECTOR_DB_DATA_DIR: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const run: Run = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stdout?.on('data', (data: Buffer) => {
    run.stdout += data.toString();
  });
  child.stderr?.on('data', (data: Buffer) => {
    run.stderr += data.toString();
  });
  return run;
}

/** Waits for the DATABASE_URL line; fails with the output if the process exits first. */
async function databaseUrl(run: Run): Promise<string> {
  for (;;) {
    const match = /^DATABASE_URL=(\S+)$/m.exec(run.stdout);
    if (match?.[1]) return match[1];
    const exited = await Promise.race([
      run.exited.then(() => true),
      new Promise((r) => setTimeout(() => r(false), 50)),
    ]);
    if (exited) throw new Error(`db exited early:\n${run.stdout}\n${run.stderr}`);
  }
}

describeOnly('embedded', ENGINE_ONLY, 'openEmbeddedDatabase', () => {
  it('creates a data directory of the PostgreSQL major PGlite runs', () => {
    expect(readFileSync(join(template, 'PG_VERSION'), 'utf8').trim()).toBe(PGLITE_POSTGRES_MAJOR);
    expect(existsSync(join(template, DATA_DIR_LOCK_FILE))).toBe(false);
  });

  it('persists data across close and reopen, with pgvector working', async () => {
    const dataDir = copyOfTemplate();
    const first = await openEmbeddedDatabase({ dataDir });
    expect(first.dataDir).toBe(dataDir);
    expect(first.vector).toBe(true);
    await first.pglite.exec(`
      CREATE EXTENSION vector;
      CREATE TABLE items (id int PRIMARY KEY, embedding vector(3));
      INSERT INTO items VALUES (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[1,1,0]');`);
    await first.close();
    expect(first.closed).toBe(true);

    const second = await openEmbeddedDatabase({ dataDir });
    try {
      const { rows } = await second.pglite.query<{ id: number; distance: number }>(
        `SELECT id, embedding <=> '[1,0,0]' AS distance FROM items ORDER BY embedding <=> '[1,0,0]' LIMIT 2`,
      );
      expect(rows.map((row) => row.id)).toEqual([1, 3]);
      expect(rows[1]?.distance).toBeCloseTo(1 - Math.SQRT1_2, 6);
    } finally {
      await second.close();
    }
  });

  it('locks the data directory while open, also against another spelling of its path', async () => {
    const dataDir = copyOfTemplate();
    const database = await openEmbeddedDatabase({ dataDir });
    try {
      const lock = JSON.parse(readFileSync(join(dataDir, DATA_DIR_LOCK_FILE), 'utf8'));
      expect(lock.pid).toBe(process.pid);
      await expect(openEmbeddedDatabase({ dataDir })).rejects.toThrowError(`(pid ${process.pid})`);
      const alias = join(root, 'alias');
      symlinkSync(dataDir, alias);
      expect(await rejectionCode(openEmbeddedDatabase({ dataDir: alias }))).toBe('DATA_DIR_LOCKED');
    } finally {
      await database.close();
      await database.close();
    }
    expect(existsSync(join(dataDir, DATA_DIR_LOCK_FILE))).toBe(false);
    await (await openEmbeddedDatabase({ dataDir })).close();
  });

  it('refuses a data directory of another PostgreSQL major and leaves it untouched', async () => {
    const dataDir = copyOfTemplate();
    writeFileSync(join(dataDir, 'PG_VERSION'), '17\n');
    const before = snapshot(dataDir);
    const error = await openEmbeddedDatabase({ dataDir }).catch((e: unknown) => e);
    expect(isPgVectorError(error, 'DATA_DIR_INCOMPATIBLE')).toBe(true);
    expect(String(error)).toMatch(/PostgreSQL 17.*PostgreSQL 18/s);
    expect(snapshot(dataDir)).toEqual(before);
  });

  it('refuses a non-empty directory that is not a data directory and leaves it untouched', async () => {
    const dataDir = join(root, 'documents');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'thesis.txt'), 'precious');
    expect(await rejectionCode(openEmbeddedDatabase({ dataDir }))).toBe('DATA_DIR_INCOMPATIBLE');
    expect(readdirSync(dataDir)).toEqual(['thesis.txt']);
  });

  it('without vector, CREATE EXTENSION vector fails', async () => {
    const database = await openEmbeddedDatabase({ dataDir: copyOfTemplate(), vector: false });
    try {
      expect(database.vector).toBe(false);
      await expect(database.pglite.exec('CREATE EXTENSION vector')).rejects.toThrowError(
        /"vector" is not available/,
      );
    } finally {
      await database.close();
    }
  });

  it('turns a FATAL backend exit into errors instead of hanging, and the data survives a reopen', async () => {
    const dataDir = copyOfTemplate();
    let database: EmbeddedDatabase = await openEmbeddedDatabase({ dataDir });
    await database.pglite.exec('CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2);');
    // COPY FROM STDIN without data ends PGlite's only backend; unguarded, the event loop spins forever.
    expect(await rejectionCode(database.pglite.query('COPY t FROM STDIN'))).toBe('DATABASE_ERROR');
    expect(database.terminated).toBe(true);
    await expect(database.pglite.query('SELECT 1')).rejects.toThrowError(/backend exited/);
    await database.close();

    database = await openEmbeddedDatabase({ dataDir });
    try {
      expect(database.terminated).toBe(false);
      expect((await database.pglite.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 2 }]);
    } finally {
      await database.close();
    }
  });

  it('rejects dataDir together with memory', async () => {
    expect(await rejectionCode(openEmbeddedDatabase({ memory: true, dataDir: root }))).toBe('INVALID_CONFIG');
  });
});

describeOnly('embedded', ENGINE_ONLY, 'startEmbeddedServer', () => {
  it('serves pg clients over the wire, concurrently, and stops cleanly', async () => {
    const { server } = await serve();
    expect(server.url).toBe(`postgresql://postgres:postgres@127.0.0.1:${server.port}/postgres`);
    expect(server.port).toBeGreaterThan(0);
    const [a, b] = await Promise.all([
      query<{ d: number }>(server, `SELECT '[1,0]'::vector <=> '[0,1]' AS d`),
      query<{ n: string }>(server, 'SELECT count(*) AS n FROM items'),
    ]);
    expect(a).toEqual([{ d: 1 }]);
    expect(b).toEqual([{ n: '0' }]);
    const dataDir = server.database.dataDir ?? '';
    await server.stop();
    await server.stop();
    expect(await server.stopped).toBeUndefined();
    expect(existsSync(join(dataDir, DATA_DIR_LOCK_FILE))).toBe(false);
  });

  it('reports a port in use as PORT_IN_USE and releases the data directory again', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const dataDir = copyOfTemplate();
    try {
      const error = await startEmbeddedServer({ port, dataDir }).catch((e: unknown) => e);
      expect(isPgVectorError(error, 'PORT_IN_USE')).toBe(true);
      expect(String(error)).toContain(`Port ${port} on 127.0.0.1 is already in use`);
      expect(String(error)).toContain('--port');
      expect(existsSync(join(dataDir, DATA_DIR_LOCK_FILE))).toBe(false);
      await (await openEmbeddedDatabase({ dataDir })).close();
    } finally {
      blocker.close();
    }
  });
});

describeOnly('embedded', ENGINE_ONLY, 'wire guard', () => {
  let server: EmbeddedServer;
  let waitForEvent: Awaited<ReturnType<typeof serve>>['waitForEvent'];
  beforeAll(async () => {
    // The wire guard notices a dead backend at once; probes (here: never) are not needed for that.
    ({ server, waitForEvent } = await serve({ watchdog: { intervalMs: 3_600_000 } }));
  });
  afterAll(() => server.stop());

  it('runs COPY FROM STDIN (text and binary), reports bad data and CopyFail, keeps the session usable', async () => {
    const client = await RawClient.connect(server.port);
    try {
      client.send(queryMessage('COPY items FROM STDIN'));
      expect((await client.readUntil('G')).map((m) => m.type)).toEqual(['G']);
      client.send(
        encodeMessage(MessageType.CopyData, text('1\tone\n2\ttwo\n')),
        encodeMessage(MessageType.CopyData, text('3\tthree\n')),
        encodeMessage(MessageType.CopyDone),
      );
      expect((await client.readUntil('Z')).map((m) => `${m.type}${m.body}`)).toEqual(['CCOPY 3\0', 'ZI']);

      // Binary: header, one row (int4 4, text 'four'), trailer.
      const row = Buffer.alloc(2 + 8 + 8);
      row.writeInt16BE(2, 0);
      row.writeInt32BE(4, 2);
      row.writeInt32BE(4, 6);
      row.writeInt32BE(4, 10);
      row.write('four', 14);
      const binary = concatBytes([
        Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'),
        Buffer.alloc(8),
        row,
        Buffer.from([0xff, 0xff]),
      ]);
      client.send(queryMessage('COPY items FROM STDIN WITH (FORMAT binary)'));
      await client.readUntil('G');
      client.send(encodeMessage(MessageType.CopyData, binary), encodeMessage(MessageType.CopyDone));
      expect((await client.readUntil('Z')).map((m) => m.type)).toEqual(['C', 'Z']);

      client.send(queryMessage('COPY items FROM STDIN'));
      await client.readUntil('G');
      client.send(encodeMessage(MessageType.CopyData, text('x\tbad\n')), encodeMessage(MessageType.CopyDone));
      const bad = await client.readUntil('Z');
      expect(bad.map((m) => m.type)).toEqual(['E', 'Z']);
      expect(bad[0]?.body).toContain('invalid input syntax for type integer');

      client.send(queryMessage('COPY items FROM STDIN'));
      await client.readUntil('G');
      client.send(
        encodeMessage(MessageType.CopyData, text('9\tnine\n')),
        encodeMessage(MessageType.CopyFail, cstring('changed my mind')),
      );
      expect((await client.readUntil('Z'))[0]?.body).toContain('COPY from stdin failed: changed my mind');

      client.send(queryMessage('SELECT 1'));
      expect((await client.readUntil('Z')).map((m) => m.type)).toEqual(['T', 'D', 'C', 'Z']);
    } finally {
      client.close();
    }
    expect(await query(server, 'SELECT id, note FROM items ORDER BY id')).toEqual([
      { id: 1, note: 'one' },
      { id: 2, note: 'two' },
      { id: 3, note: 'three' },
      { id: 4, note: 'four' },
    ]);
  });

  it('runs binary COPY inside a transaction: the probe leaves it intact, a failing COPY aborts only it', async () => {
    const binaryRow = (id: number, note: string) => {
      const row = Buffer.alloc(2 + 8 + 4 + Buffer.byteLength(note));
      row.writeInt16BE(2, 0);
      row.writeInt32BE(4, 2);
      row.writeInt32BE(id, 6);
      row.writeInt32BE(Buffer.byteLength(note), 10);
      row.write(note, 14);
      return row;
    };
    const binaryCopy = (...rows: Buffer[]) =>
      concatBytes([
        Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'),
        Buffer.alloc(8),
        ...rows,
        Buffer.from([0xff, 0xff]),
      ]);
    const copy = async (client: RawClient, data: Uint8Array) => {
      client.send(queryMessage('COPY items FROM STDIN (FORMAT binary)'));
      expect((await client.readUntil('G')).map((m) => m.type)).toEqual(['G']);
      client.send(encodeMessage(MessageType.CopyData, data), encodeMessage(MessageType.CopyDone));
      return (await client.readUntil('Z')).map((m) => `${m.type}${m.type === 'E' ? '' : m.body}`);
    };
    const client = await RawClient.connect(server.port);
    try {
      client.send(queryMessage('BEGIN'));
      await client.readUntil('Z');
      expect(await copy(client, binaryCopy(binaryRow(20, 'twenty'), binaryRow(21, 'twenty-one')))).toEqual([
        'CCOPY 2\0',
        'ZT',
      ]);
      client.send(queryMessage('COMMIT'));
      await client.readUntil('Z');

      client.send(queryMessage('BEGIN'));
      await client.readUntil('Z');
      expect(await copy(client, binaryCopy(binaryRow(22, 'kept?')))).toEqual(['CCOPY 1\0', 'ZT']);
      // A duplicate key: the COPY fails and the transaction is aborted (status E), as on PostgreSQL.
      expect(await copy(client, binaryCopy(binaryRow(23, 'x'), binaryRow(20, 'dup')))).toEqual(['E', 'ZE']);
      client.send(queryMessage('ROLLBACK'));
      expect((await client.readUntil('Z')).map((m) => `${m.type}${m.body}`)).toEqual(['CROLLBACK\0', 'ZI']);
    } finally {
      client.close();
    }
    expect(await query(server, 'SELECT id, note FROM items WHERE id >= 20 ORDER BY id')).toEqual([
      { id: 20, note: 'twenty' },
      { id: 21, note: 'twenty-one' },
    ]);
    await query(server, 'DELETE FROM items WHERE id >= 20'); // the later tests count the items
  });

  it('answers an invalid message type with FATAL without harming the backend', async () => {
    const client = await RawClient.connect(server.port);
    try {
      client.send(encodeMessage('?'.charCodeAt(0)));
      const [fatal] = await client.readUntil('E');
      expect(fatal?.body).toContain('invalid frontend message type 63');
    } finally {
      client.close();
    }
    expect(server.database.terminated).toBe(false);
    expect(await query(server, 'SELECT 2 AS two')).toEqual([{ two: 2 }]);
  });

  it('reopens the database when a client kills the backend, keeping committed data', async () => {
    const before = server.database;
    const client = new pg.Client({ connectionString: server.url });
    client.on('error', () => {});
    await client.connect();
    // COPY FROM STDIN inside a multi-statement query is not buffered: it ends PGlite's backend.
    await expect(client.query('SELECT 1; COPY items FROM STDIN')).rejects.toThrow();
    await client.end().catch(() => {});
    const event = await waitForEvent('database-restarted');
    expect(event).toMatchObject({ message: expect.stringContaining('backend exited after a FATAL error') });
    expect(server.database).not.toBe(before);
    expect(before.closed).toBe(true);
    expect(await query(server, 'SELECT count(*)::int AS n FROM items')).toEqual([{ n: 4 }]);
  });
});

describeOnly('embedded', ENGINE_ONLY, 'watchdog', () => {
  it('sees a client holding a transaction as blocked, not wedged', async () => {
    const { server, events, waitForEvent } = await serve({ watchdog: fastWatchdog });
    const holder = new pg.Client({ connectionString: server.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("INSERT INTO items VALUES (10, 'pending')");
      await waitForEvent('blocked');
      await holder.query('COMMIT');
      expect(await query(server, 'SELECT note FROM items WHERE id = 10')).toEqual([{ note: 'pending' }]);
      expect(events.map((e) => e.type)).not.toContain('socket-restarted');
    } finally {
      await holder.end();
      await server.stop();
    }
  });

  it('restarts the socket server when the server stops answering', async () => {
    const { server, events, waitForEvent } = await serve({ watchdog: fastWatchdog });
    try {
      // Occupy PGlite (as a stuck operation would): wire queries queue up and no probe is answered.
      let release: () => void = () => {};
      const held = server.database.pglite.runExclusive(
        () => new Promise<void>((resolve) => (release = resolve)),
      );
      await waitForEvent('socket-restarted');
      release();
      await held;
      expect(await query(server, 'SELECT 3 AS three')).toEqual([{ three: 3 }]);
      expect(events.map((e) => e.type)).not.toContain('failed');
    } finally {
      await server.stop();
    }
  });

  it('gives up with SERVER_WEDGED when restarting does not help, and releases the data directory', async () => {
    const { server, waitForEvent } = await serve({ watchdog: fastWatchdog });
    const dataDir = server.database.dataDir ?? '';
    let release: () => void = () => {};
    const held = server.database.pglite.runExclusive(
      () => new Promise<void>((resolve) => (release = resolve)),
    );
    const failed = await waitForEvent('failed');
    release(); // closing the database waits for PGlite to be free
    await held;
    const error = await server.stopped;
    expect(failed).toEqual({ type: 'failed', error });
    expect(isPgVectorError(error, 'SERVER_WEDGED')).toBe(true);
    expect(String(error)).toContain('even after a restart of the socket server');
    expect(existsSync(join(dataDir, DATA_DIR_LOCK_FILE))).toBe(false);
  });

  it('without a watchdog, stops with SERVER_WEDGED when the backend dies', async () => {
    const { server } = await serve();
    const client = new pg.Client({ connectionString: server.url });
    client.on('error', () => {});
    await client.connect();
    await expect(client.query('SELECT 1; COPY items FROM STDIN')).rejects.toThrow();
    await client.end().catch(() => {});
    const error = await server.stopped;
    expect(isPgVectorError(error, 'SERVER_WEDGED')).toBe(true);
    expect(String(error)).toContain('backend exited');
  });
});

describeOnly(
  'embedded',
  ENGINE_ONLY,
  'prisma-pgvector db',
  () => {
    it('prints DATABASE_URL, serves queries, refuses a second server on the same data directory, stops on SIGTERM with the data flushed', async () => {
      const dataDir = copyOfTemplate();
      const server = runDb(['--data-dir', dataDir, '--port', '0']);
      const url = await databaseUrl(server);
      expect(server.stdout).toBe(`DATABASE_URL=${url}\n`);
      expect(url).toMatch(/^postgresql:\/\/postgres:postgres@127\.0\.0\.1:\d+\/postgres$/);
      expect(server.stderr).toContain('all connections share ONE PostgreSQL session');

      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(
        `CREATE EXTENSION vector; CREATE TABLE kept (v vector(2)); INSERT INTO kept VALUES ('[1,2]')`,
      );
      await client.end();

      const second = runDb(['--data-dir', dataDir, '--port', '0']);
      expect(await second.exited).toBe(1);
      expect(second.stderr).toContain(`is in use by process ${server.child.pid}`);
      expect(second.stderr).not.toMatch(/^\s+at /m);

      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(server.stderr).toContain(`Stopped; data flushed to ${dataDir}`);
      expect(existsSync(join(dataDir, DATA_DIR_LOCK_FILE))).toBe(false);
      const database = await openEmbeddedDatabase({ dataDir });
      try {
        expect((await database.pglite.query('SELECT v::text AS v FROM kept')).rows).toEqual([{ v: '[1,2]' }]);
      } finally {
        await database.close();
      }
    });

    it('fails with a one-line error, no stack, for an incompatible data directory and a port in use', async () => {
      const old = copyOfTemplate();
      writeFileSync(join(old, 'PG_VERSION'), '16\n');
      const incompatible = runDb(['--data-dir', old, '--port', '0']);

      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const address = blocker.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const dataDir = copyOfTemplate();
      const busy = runDb(['--data-dir', dataDir], { PGVECTOR_DB_PORT: String(port) });
      try {
        expect(await incompatible.exited).toBe(1);
        expect(incompatible.stderr).toMatch(
          /^prisma-pgvector db: Data directory .* was created by PostgreSQL 16/m,
        );
        expect(await busy.exited).toBe(1);
        expect(busy.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use.\nFix:`);
        for (const run of [incompatible, busy]) {
          expect(run.stdout).toBe('');
          expect(run.stderr).not.toMatch(/^\s+at /m);
        }
        expect(existsSync(join(dataDir, DATA_DIR_LOCK_FILE))).toBe(false);
      } finally {
        blocker.close();
      }
    });

    it('rejects bad options with exit code 2', async () => {
      const run = runDb(['--port', 'eighty']);
      expect(await run.exited).toBe(2);
      expect(run.stderr).toContain('--port must be an integer from 0 to 65535');
    });
  },
  { timeout: 30_000 },
);
