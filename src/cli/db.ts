import { parseArgs } from 'node:util';
import { isPgVectorError } from '../core/errors.js';
import { loadEmbeddedServer } from '../core/optional-dependency.js';
import { DEFAULT_DATA_DIR } from '../embedded/data-dir.js';
import type { EmbeddedServer, EmbeddedServerOptions } from '../embedded/server.js';
import { DEFAULT_EMBEDDED_PORT, DEFAULT_MAX_CONNECTIONS } from '../embedded/server-defaults.js';
import type { Command } from './command.js';

const help = `Usage: prisma-pgvector db [options]

Runs PostgreSQL 18 + pgvector in this process (PGlite, WASM) and serves it over the PostgreSQL wire
protocol until Ctrl+C (SIGINT) or SIGTERM. Prints DATABASE_URL=<url> on stdout; everything else goes to
stderr. A watchdog restarts the server if it stops answering.

Options:
  --port <n>             TCP port; 0 picks a free one   (env PGVECTOR_DB_PORT, default ${DEFAULT_EMBEDDED_PORT})
  --host <host>          interface to listen on          (default 127.0.0.1)
  --data-dir <dir>       database directory              (env PGVECTOR_DB_DATA_DIR, default ${DEFAULT_DATA_DIR})
  --memory               keep the database in memory only: data is lost on exit
  --no-vector            do not load pgvector (CREATE EXTENSION vector fails), for tests
  --max-connections <n>  connections served at once      (default ${DEFAULT_MAX_CONNECTIONS})

All connections share ONE PostgreSQL session; see docs/EMBEDDED.md.`;

/**
 * `prisma-pgvector db`: the embedded PostgreSQL + pgvector as a foreground server for the Prisma CLI,
 * psql and apps (`npm run db`).
 *
 * ### Examples
 * ```sh
 * npm run db -- --port 54321 --data-dir .data/dev
 * # DATABASE_URL=postgresql://postgres:postgres@127.0.0.1:54321/postgres
 * ```
 */
export const dbCommand: Command = {
  name: 'db',
  summary: 'Run the embedded PostgreSQL + pgvector (PGlite) as a local server',
  help,
  run,
};

async function run(argv: readonly string[]): Promise<number> {
  let options: EmbeddedServerOptions;
  try {
    options = parseOptions(argv, process.env);
  } catch (error) {
    console.error(`prisma-pgvector db: ${error instanceof Error ? error.message : String(error)}`);
    console.error('Run `prisma-pgvector db --help` for the options.');
    return 2;
  }

  // Installed before the (slow) start so that Ctrl+C during initdb still shuts down cleanly.
  let requestStop: () => void = () => {};
  const stopRequested = new Promise<'stop'>((resolve) => {
    requestStop = () => resolve('stop');
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      // A second signal: leave now (the exit handler still removes the lock file).
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    console.error(`Received ${signal}, stopping…`);
    requestStop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    let server: EmbeddedServer;
    try {
      // PGlite (an optional peer dependency) is loaded here, so that the other commands never need it.
      const { startEmbeddedServer } = await loadEmbeddedServer('prisma-pgvector db');
      server = await startEmbeddedServer({
        ...options,
        watchdog: true,
        onEvent: (event) =>
          console.error(
            `prisma-pgvector db: ${event.type === 'failed' ? event.error.message : event.message}`,
          ),
      });
    } catch (error) {
      if (!isPgVectorError(error)) throw error;
      console.error(`prisma-pgvector db: ${error.message}`);
      return 1;
    }

    if (signals === 0) {
      console.error(await banner(server));
      console.log(`DATABASE_URL=${server.url}`);
    }
    const outcome = await Promise.race([stopRequested, server.stopped]);
    if (outcome !== 'stop' && outcome !== undefined) return 1; // already reported through onEvent
    await server.stop();
    const where = server.database.dataDir ? `; data flushed to ${server.database.dataDir}` : '';
    console.error(`Stopped${where}.`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): EmbeddedServerOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      memory: { type: 'boolean' },
      'no-vector': { type: 'boolean' },
      'max-connections': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.memory && values['data-dir'] !== undefined) {
    throw new Error('--memory and --data-dir cannot be used together.');
  }
  const port = parseInteger(
    '--port',
    values.port ?? env.PGVECTOR_DB_PORT ?? String(DEFAULT_EMBEDDED_PORT),
    0,
    65535,
  );
  const maxConnections = parseInteger(
    '--max-connections',
    values['max-connections'] ?? String(DEFAULT_MAX_CONNECTIONS),
    1,
    10_000,
  );
  return {
    port,
    host: values.host ?? '127.0.0.1',
    maxConnections,
    vector: !values['no-vector'],
    ...(values.memory
      ? { memory: true }
      : { dataDir: values['data-dir'] ?? env.PGVECTOR_DB_DATA_DIR ?? DEFAULT_DATA_DIR }),
  };
}

function parseInteger(name: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${text}".`);
  }
  return value;
}

/** The startup banner: what runs where, and the caveats of a shared session. */
async function banner(server: EmbeddedServer): Promise<string> {
  const { pglite, dataDir, vector } = server.database;
  const version =
    (await pglite.query<{ version: string }>('SELECT version()')).rows[0]?.version ?? 'PostgreSQL';
  const engine = version.split(' on ')[0] ?? version;
  let pgvector = 'pgvector disabled (--no-vector)';
  if (vector) {
    const { rows } = await pglite.query<{ default_version: string }>(
      "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'",
    );
    pgvector = `pgvector ${rows[0]?.default_version ?? '(unknown version)'} (CREATE EXTENSION vector)`;
  }
  return [
    `Embedded ${engine} with ${pgvector}`,
    `Data: ${dataDir ?? 'in memory only (lost on exit)'}`,
    `Listening on ${server.host}:${server.port}, up to ${server.maxConnections} connections. Stop with Ctrl+C.`,
    'Caveats: all connections share ONE PostgreSQL session —',
    '  - SET, temp tables and named prepared statements are shared: use SET LOCAL inside transactions;',
    '  - an open transaction makes every other client wait until it ends;',
    '  - every database name reaches the same database: run a second `db --memory --port <n>` as shadow DB;',
    '  - COPY FROM STDIN must be the only statement of its query; query cancellation is ignored.',
  ].join('\n');
}
