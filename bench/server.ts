/**
 * The embedded database for the benchmark, in a child process of its own: PGlite executes SQL on the
 * thread that calls it, so a server in the bench's own process would put client and server work on one
 * thread and the client's memory figures would include the database. Prints one JSON line on stdout —
 * `{ "url": …, "pid": … }` — then serves until SIGTERM / SIGINT or until stdin closes. A line `gc` on stdin
 * runs a full garbage collection (the parent starts it with `--expose-gc`) and answers `gc done`.
 */
import { createInterface } from 'node:readline';

import { startEmbeddedServer } from '../src/embedded/server.js';

const server = await startEmbeddedServer({ port: 0, memory: true, maxConnections: 64 });
process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid })}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.stop().catch(() => undefined);
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'gc') return;
  (globalThis as { gc?: () => void }).gc?.();
  process.stdout.write('gc done\n');
});
