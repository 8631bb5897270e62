// Needs the generated client (git-ignored), which `npm ci` / `npm run generate` produce.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { openEmbeddedDatabase } from '../../src/embedded/pglite.js';
import {
  type EmbeddedServer,
  type EmbeddedServerEvent,
  type EmbeddedServerOptions,
  startEmbeddedServer,
} from '../../src/embedded/server.js';
import { concatBytes, encodeMessage, MessageType } from '../../src/embedded/wire-protocol.js';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { applyMigrations } from '../integration/helpers.js';
import { describeOnly } from '../support/engines.js';
import { cstring, RawClient, text } from '../support/raw-pg-client.js';

const ENGINE_ONLY = 'tests the one shared session of the embedded wire server';

// Many clients on the ONE session behind the embedded wire server: each extended-query batch (Parse ...
// Sync) and each simple query must run as a whole, never interleaved with another client's messages.

const CLIENTS = 8;

// initdb (~6 s) runs once; each server gets a copy of that data directory with a table
// `t (client int, seq int, note text)`.
const root = mkdtempSync(join(tmpdir(), 'pgv-wire-concurrency-'));
const template = join(root, 'template');
let copies = 0;
beforeAll(async () => {
  const database = await openEmbeddedDatabase({ dataDir: template });
  await database.pglite.exec('CREATE TABLE t (client int, seq int, note text, PRIMARY KEY (client, seq))');
  await database.close();
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A server on a fresh copy of the template, its events recorded. */
async function serve(options: EmbeddedServerOptions = {}) {
  const events: EmbeddedServerEvent[] = [];
  const dataDir = join(root, `copy${copies++}`);
  cpSync(template, dataDir, { recursive: true });
  const server = await startEmbeddedServer({ port: 0, dataDir, ...options, onEvent: (e) => events.push(e) });
  const waitForEvent = (type: EmbeddedServerEvent['type'], timeout = 10_000) =>
    vi.waitFor(
      () => {
        const event = events.find((e) => e.type === type);
        if (!event) throw new Error(`no ${type} event yet`);
        return event;
      },
      { timeout, interval: 50 },
    );
  return { server, events, waitForEvent };
}

async function connect(server: EmbeddedServer): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: server.url });
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function count(server: EmbeddedServer, where = 'true'): Promise<number> {
  const result = await server.database.pglite.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM t WHERE ${where}`,
  );
  return result.rows[0]?.n ?? -1;
}

const int16 = (value: number): Uint8Array => new Uint8Array([(value >> 8) & 0xff, value & 0xff]);
const int32 = (value: number): Uint8Array => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, value);
  return bytes;
};
const msg = (type: string, ...body: Uint8Array[]) => encodeMessage(type.charCodeAt(0), concatBytes(body));
/** Parse of the unnamed statement, no parameter types given. */
const parse = (sql: string) => msg('P', cstring(''), cstring(sql), int16(0));
/** Bind of the unnamed portal to the unnamed statement, text parameters, text results. */
const bind = (...values: string[]) =>
  msg(
    'B',
    cstring(''),
    cstring(''),
    int16(0),
    int16(values.length),
    ...values.flatMap((v) => [int32(text(v).length), text(v)]),
    int16(0),
  );
const execute = () => msg('E', cstring(''), int32(0));
const sync = () => encodeMessage(MessageType.Sync);
const flush = () => encodeMessage(MessageType.Flush);

/** The types of `messages`, without ParameterStatus ('S', which PGlite's backend may add before a ReadyForQuery). */
const types = (messages: { type: string }[]): string[] =>
  messages.map((m) => m.type).filter((type) => type !== 'S');

/** Settles to 'pending' if `promise` has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<'pending'>((resolve) => {
        timer = setTimeout(() => resolve('pending'), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describeOnly('embedded', ENGINE_ONLY, 'concurrent clients on the one session', () => {
  let server: EmbeddedServer;
  let events: EmbeddedServerEvent[];
  beforeAll(async () => {
    ({ server, events } = await serve({ watchdog: { intervalMs: 1_000, timeoutMs: 5_000 } }));
  });
  afterAll(() => server.stop());

  it(`${CLIENTS} pg clients × 200 parameterised inserts and selects, every result exact`, async () => {
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => connect(server)));
    try {
      await Promise.all(
        clients.map(async (client, c) => {
          for (let seq = 0; seq < 200; seq++) {
            const note = `client ${c} row ${seq}`;
            const insert = async () => {
              const inserted = await client.query(
                'INSERT INTO t (client, seq, note) VALUES ($1, $2, $3) RETURNING client, seq, note',
                [c, seq, note],
              );
              expect(inserted.rows).toEqual([{ client: c, seq, note }]);
            };
            const select = async () => {
              const mine = await client.query<{ n: number; last: string }>(
                'SELECT count(*)::int AS n, max(note) FILTER (WHERE seq = $2) AS last FROM t WHERE client = $1',
                [c, seq],
              );
              expect(mine.rows).toEqual([{ n: seq + 1, last: note }]);
            };
            const echo = async () => {
              const result = await client.query<{ sum: number; tag: string }>(
                'SELECT $1::int + $2::int AS sum, $3::text AS tag',
                [c, seq, `tag-${c}-${seq}`],
              );
              expect(result.rows).toEqual([{ sum: c + seq, tag: `tag-${c}-${seq}` }]);
            };
            // Clients run different statements at the same moment (interleaved, they would mix up).
            const orders = [
              [insert, select, echo],
              [echo, insert, select],
              [insert, echo, select],
            ];
            for (const step of orders[(c + seq) % orders.length] ?? []) await step();
            if ((c + seq) % 3 === 0) await insert().catch(() => {}); // a duplicate: errors stay with their client
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
    expect(await count(server)).toBe(CLIENTS * 200);
    expect(events).toEqual([]);
  });

  it(`${CLIENTS} pg clients in explicit transactions (commits and rollbacks) next to autocommit clients`, async () => {
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => connect(server)));
    const base = 1000;
    try {
      await Promise.all(
        clients.map(async (client, c) => {
          let committed = 0;
          for (let round = 0; round < 40; round++) {
            const seq = base + round;
            if (c % 2 === 1) {
              // Autocommit, extended protocol, between the others' transactions.
              await client.query('INSERT INTO t VALUES ($1, $2, $3)', [c, seq, 'auto']);
              committed++;
            } else {
              await client.query('BEGIN');
              await client.query('INSERT INTO t VALUES ($1, $2, $3)', [c, seq, 'tx']);
              const inside = await client.query<{ n: number }>(
                'SELECT count(*)::int AS n FROM t WHERE client = $1 AND seq >= $2',
                [c, base],
              );
              expect(inside.rows).toEqual([{ n: committed + 1 }]);
              if (round % 4 === 3) {
                await client.query('ROLLBACK');
              } else {
                await client.query('COMMIT');
                committed++;
              }
            }
            const after = await client.query<{ n: number }>(
              'SELECT count(*)::int AS n FROM t WHERE client = $1 AND seq >= $2',
              [c, base],
            );
            expect(after.rows).toEqual([{ n: committed }]);
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
    // 4 autocommit clients × 40 + 4 transactional clients × 30 commits
    expect(await count(server, `seq >= ${base}`)).toBe(4 * 40 + 4 * 30);
    expect(events).toEqual([]);
  });

  it('a pg Pool: concurrent pool.query calls and transactions on pooled clients', async () => {
    const pool = new pg.Pool({ connectionString: server.url, max: CLIENTS });
    const base = 5000;
    try {
      const jobs = Array.from({ length: 400 }, async (_, i) => {
        if (i % 10 === 0) {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            await client.query('INSERT INTO t VALUES (100, $1, $2)', [base + i, 'pooled tx']);
            await client.query('COMMIT');
          } finally {
            client.release();
          }
        } else {
          const { rows } = await pool.query<{ seq: number }>(
            'INSERT INTO t VALUES (100, $1, $2) RETURNING seq',
            [base + i, `pooled ${i}`],
          );
          expect(rows).toEqual([{ seq: base + i }]);
        }
      });
      await Promise.all(jobs);
      const { rows } = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM t WHERE client = $1',
        [100],
      );
      expect(rows).toEqual([{ n: 400 }]);
    } finally {
      await pool.end();
    }
  });

  it('a Prisma Client (adapter-pg, pool of 8): concurrent $executeRaw inserts and $queryRaw counts', async () => {
    await applyMigrations(server.database.pglite);
    const prisma = new PrismaClient({
      adapter: new PrismaPg({ connectionString: server.url, max: CLIENTS }),
    });
    try {
      const total = 240;
      const results = await Promise.all(
        Array.from({ length: total }, async (_, i) => {
          const inserted = await prisma.$executeRaw`
            INSERT INTO documents (content, metadata) VALUES (${`doc ${i}`}, ${JSON.stringify({ i })}::jsonb)`;
          const [row] = await prisma.$queryRaw<{ n: number; mine: number }[]>`
            SELECT count(*)::int AS n, count(*) FILTER (WHERE content = ${`doc ${i}`})::int AS mine
            FROM documents`;
          return { inserted, n: row?.n ?? -1, mine: row?.mine ?? -1 };
        }),
      );
      for (const { inserted, n, mine } of results) {
        expect(inserted).toBe(1);
        expect(mine).toBe(1);
        expect(n).toBeGreaterThanOrEqual(1);
        expect(n).toBeLessThanOrEqual(total);
      }
      const [{ n } = { n: -1 }] = await prisma.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM documents WHERE content LIKE ${'doc %'}`;
      expect(n).toBe(total);
      // Interactive transactions next to autocommit queries.
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 2 === 0
            ? prisma.$transaction(async (tx) => {
                await tx.$executeRaw`INSERT INTO documents (content) VALUES (${`tx ${i}`})`;
                const [row] = await tx.$queryRaw<{ n: number }[]>`
                  SELECT count(*)::int AS n FROM documents WHERE content = ${`tx ${i}`}`;
                expect(row?.n).toBe(1);
              })
            : prisma.$executeRaw`INSERT INTO documents (content) VALUES (${`tx ${i}`})`,
        ),
      );
      expect(await prisma.document.count({ where: { content: { startsWith: 'tx ' } } })).toBe(20);
    } finally {
      await prisma.$disconnect();
    }
    expect(events).toEqual([]);
  });

  it('holds the session from Parse to Sync: another client waits for a half-sent batch', async () => {
    const raw = await RawClient.connect(server.port);
    const other = await connect(server);
    try {
      raw.send(parse('SELECT $1::int * 2 AS doubled'), flush());
      expect(types(await raw.readUntil('1'))).toEqual(['1']);
      // Unguarded, this Parse would replace the raw client's unnamed statement.
      const waiting = other.query<{ tag: string }>('SELECT $1::text AS tag', ['other']);
      expect(await within(waiting, 300)).toBe('pending');
      raw.send(bind('21'), execute(), sync());
      const answer = await raw.readUntil('Z');
      expect(types(answer)).toEqual(['2', 'D', 'C', 'Z']);
      expect(answer.find((m) => m.type === 'D')?.body).toContain('42');
      expect((await waiting).rows).toEqual([{ tag: 'other' }]);
    } finally {
      raw.close();
      await other.end();
    }
  });

  it('a COPY FROM STDIN holds the session until its data has arrived', async () => {
    const raw = await RawClient.connect(server.port);
    const other = await connect(server);
    try {
      raw.send(msg('Q', cstring('COPY t FROM STDIN')));
      expect(types(await raw.readUntil('G'))).toEqual(['G']);
      const waiting = other.query<{ n: number }>('SELECT count(*)::int AS n FROM t WHERE client = $1', [400]);
      expect(await within(waiting, 200)).toBe('pending');
      raw.send(msg('d', text('400\t1\tcopied\n400\t2\tcopied\n')), msg('c'));
      expect(types(await raw.readUntil('Z'))).toEqual(['C', 'Z']);
      expect((await waiting).rows).toEqual([{ n: 2 }]);
    } finally {
      raw.close();
      await other.end();
    }
  });

  it('a client that disconnects in the middle of a batch: its statement is rolled back, the others go on', async () => {
    const raw = await RawClient.connect(server.port);
    const other = await connect(server);
    try {
      // Executed, but the implicit transaction never ends with a Sync.
      raw.send(parse('INSERT INTO t VALUES (200, 1, $1)'), bind('lost'), execute(), flush());
      expect(types(await raw.readUntil('C'))).toEqual(['1', '2', 'C']);
      const waiting = other.query<{ n: number }>('SELECT count(*)::int AS n FROM t WHERE client = $1', [200]);
      expect(await within(waiting, 200)).toBe('pending');
      raw.close();
      expect((await waiting).rows).toEqual([{ n: 0 }]);
    } finally {
      raw.close();
      await other.end();
    }
  });
});

describeOnly('embedded', ENGINE_ONLY, 'a client that stalls in the middle of a batch', () => {
  it('is disconnected with FATAL after stalledBatchTimeoutMs of silence; its batch is rolled back', async () => {
    const { server, events } = await serve({ stalledBatchTimeoutMs: 500 });
    const raw = await RawClient.connect(server.port);
    const other = await connect(server);
    try {
      const started = Date.now();
      raw.send(parse('INSERT INTO t VALUES (300, 1, $1)'), bind('stalled'), execute(), flush());
      await raw.readUntil('C');
      const { rows } = await other.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM t WHERE client = $1',
        [300],
      );
      expect(rows).toEqual([{ n: 0 }]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      const [fatal] = await raw.readUntil('E');
      expect(fatal?.body).toContain('SFATAL');
      expect(fatal?.body).toMatch(/without a Sync/);
      await vi.waitFor(() => expect(raw.closed).toBe(true), { timeout: 2_000 });
      // The session is clean: the others keep working, with the extended protocol too.
      expect((await other.query('SELECT $1::int AS one', [1])).rows).toEqual([{ one: 1 }]);
      expect(await count(server, 'client = 300')).toBe(0);
      expect(events).toEqual([]);
    } finally {
      raw.close();
      await other.end();
      await server.stop();
    }
  });

  it('rejects an invalid stalledBatchTimeoutMs', async () => {
    for (const stalledBatchTimeoutMs of [-1, 1.5, 2 ** 31]) {
      await expect(
        startEmbeddedServer({ port: 0, memory: true, stalledBatchTimeoutMs }),
      ).rejects.toThrowError(/Invalid stalledBatchTimeoutMs/);
    }
  });

  it('is not disconnected while nobody else is waiting, nor inside an explicit transaction', async () => {
    const { server } = await serve({ stalledBatchTimeoutMs: 200 });
    const raw = await RawClient.connect(server.port);
    try {
      raw.send(parse('SELECT $1::int + 1 AS next'), flush());
      await raw.readUntil('1');
      await new Promise((resolve) => setTimeout(resolve, 500));
      raw.send(bind('1'), execute(), sync());
      expect(types(await raw.readUntil('Z'))).toEqual(['2', 'D', 'C', 'Z']);

      raw.send(msg('Q', cstring('BEGIN')));
      await raw.readUntil('Z');
      raw.send(parse('INSERT INTO t VALUES (301, 1, $1)'), bind('in tx'), execute(), flush());
      await raw.readUntil('C');
      const other = (async () => {
        const client = await connect(server);
        try {
          return (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM t WHERE client = 301'))
            .rows;
        } finally {
          await client.end();
        }
      })();
      // The transaction holds the session as before (the watchdog reports it as `blocked`).
      expect(await within(other, 600)).toBe('pending');
      expect(raw.closed).toBe(false);
      raw.send(sync(), msg('Q', cstring('COMMIT')));
      expect(types(await raw.readUntil('Z'))).toEqual(['Z']);
      expect(types(await raw.readUntil('Z'))).toEqual(['C', 'Z']);
      expect(await other).toEqual([{ n: 1 }]);
      expect(await count(server, 'client = 301')).toBe(1);
    } finally {
      raw.close();
      await server.stop();
    }
  });

  it('is reported by the watchdog as blocked (not wedged) until it is disconnected', async () => {
    const { server, events, waitForEvent } = await serve({
      stalledBatchTimeoutMs: 3_000,
      watchdog: { intervalMs: 100, timeoutMs: 500, failuresBeforeRestart: 2 },
    });
    const raw = await RawClient.connect(server.port);
    try {
      raw.send(parse('SELECT 1'), flush());
      await raw.readUntil('1');
      await waitForEvent('blocked');
      await vi.waitFor(() => expect(raw.closed).toBe(true), { timeout: 5_000 });
      const client = await connect(server);
      expect((await client.query('SELECT $1::int AS two', [2])).rows).toEqual([{ two: 2 }]);
      await client.end();
      expect(events.map((e) => e.type)).toEqual(['blocked']);
    } finally {
      raw.close();
      await server.stop();
    }
  });
});
