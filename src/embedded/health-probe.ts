import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import pg from 'pg';

/** Granularity of the probe's clock; also the most one blocked stretch of the event loop counts for. */
const TICK_MS = 100;

/**
 * Checks that a PostgreSQL wire server answers: connects as `postgres`, runs `SELECT 1`, disconnects.
 * Rejects when that fails or does not finish within `timeoutMs`.
 *
 * `timeoutMs` counts only time during which this process's event loop was free. PGlite runs queries
 * synchronously on the event loop, so while a long statement (an HNSW index build) runs, nothing here
 * can be answered and no time is counted: a busy server is not mistaken for a wedged one.
 *
 * ### Examples
 * ```ts
 * await probeWireServer({ host: '127.0.0.1', port: 54320 }, 5_000);
 * ```
 */
export async function probeWireServer(
  address: { host: string; port: number },
  timeoutMs: number,
): Promise<void> {
  const socket = new Socket();
  const client = new pg.Client({
    host: address.host,
    port: address.port,
    user: 'postgres',
    password: 'postgres',
    database: 'postgres',
    stream: () => socket,
  });
  // Failures surface through connect()/query(); without a listener an 'error' event would throw.
  client.on('error', () => {});
  const deadline = freeTimeDeadline(timeoutMs);
  try {
    await Promise.race([
      (async () => {
        await client.connect();
        await client.query('SELECT 1');
      })(),
      deadline.expired,
    ]);
  } finally {
    deadline.cancel();
    socket.destroy();
  }
}

/** A promise that rejects once `ms` of event-loop-free time has passed. */
function freeTimeDeadline(ms: number): { expired: Promise<never>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    let credited = 0;
    let last = performance.now();
    timer = setInterval(() => {
      const now = performance.now();
      credited += Math.min(now - last, 2 * TICK_MS);
      last = now;
      if (credited >= ms) {
        clearInterval(timer);
        reject(new Error(`no answer within ${ms} ms`));
      }
    }, TICK_MS);
  });
  return { expired, cancel: () => clearInterval(timer) };
}
