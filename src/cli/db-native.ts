import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { isPgVectorError } from '../core/errors.js';
import {
  attachNativeServer,
  DEFAULT_NATIVE_ROOT,
  findProjectDir,
  NATIVE_POSTGRES_MAJOR,
  type NativeServer,
  type NativeServerOptions,
  startNativeServer,
} from '../embedded/native-server.js';
import type { Command } from './command.js';

/** Where `db-native start` records the detached server by default, under the project directory. */
const STATE_FILE = '.native/state.json';

const help = `Usage: prisma-pgvector db-native [start | stop | status] [options]

Runs a native PostgreSQL ${NATIVE_POSTGRES_MAJOR} + pgvector (Debian 13 packages in a root made by debootstrap
under ${DEFAULT_NATIVE_ROOT}, built on first use: 1-2 minutes, ~600 MB) as a throwaway cluster on 127.0.0.1,
trust authentication, superuser postgres. For development, tests (TEST_DATABASE_URL), CI and benchmarks.
Prints DATABASE_URL=<url> on stdout; everything else goes to stderr.

  (none)    foreground: runs until Ctrl+C (SIGINT) or SIGTERM, then stops and removes the cluster
  start     starts a detached server that outlives the command (recorded in ${STATE_FILE});
            when one already runs, prints its DATABASE_URL
  stop      stops the detached server and removes its cluster (nothing to do: exit code 0)
  status    prints the detached server's DATABASE_URL; exit code 0 when it runs, 3 when not

Options:
  --port <n>            TCP port on 127.0.0.1; 0 picks a free one  (default 0)
  --root <dir>          the native root                            (default ${DEFAULT_NATIVE_ROOT})
  --mirror <uri>        Debian mirror to build the root from        (default: the one apt's sources name)
  --set <name=value>    a server setting, repeatable: --set shared_buffers=256MB
  --state <file>        where start/stop/status record the detached server  (default ${STATE_FILE})

Needs Linux, root and debootstrap (apt-get install debootstrap); installs nothing else and mounts nothing.
See docs/NATIVE.md.`;

/**
 * `prisma-pgvector db-native`: the native PostgreSQL + pgvector of the project for development and CI, in
 * the foreground (`npm run db:native`) or detached (`start` / `stop` / `status`).
 *
 * ### Examples
 * ```sh
 * url=$(npm run -s db:native -- start | sed -n 's/^DATABASE_URL=//p')
 * TEST_DATABASE_URL=$url npm test
 * npm run -s db:native -- stop
 * ```
 */
export const dbNativeCommand: Command = {
  name: 'db-native',
  summary: 'run a native PostgreSQL 17 + pgvector (debootstrapped root) on 127.0.0.1',
  help,
  run,
};

interface ParsedArgs {
  readonly action: 'foreground' | 'start' | 'stop' | 'status';
  readonly options: NativeServerOptions;
  readonly portGiven: boolean;
  /** The state file of start/stop/status (absolute). */
  readonly state: string;
}

/** What `start` records: enough for `stop` and `status` in another process. */
interface NativeState {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  readonly pid: number;
  readonly startedAt: string;
}

async function run(argv: readonly string[]): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    console.error(`prisma-pgvector db-native: ${error instanceof Error ? error.message : String(error)}`);
    console.error('Run `prisma-pgvector db-native --help` for the options.');
    return 2;
  }
  try {
    switch (parsed.action) {
      case 'foreground':
        return await foreground(parsed.options);
      case 'start':
        return await startDetached(parsed);
      case 'stop':
        return await stopDetached(parsed.state);
      case 'status':
        return await status(parsed.state);
    }
  } catch (error) {
    // Expected failures are PgVectorErrors (message + fix); anything else gets one line too, never a stack.
    console.error(
      `prisma-pgvector db-native: ${isPgVectorError(error) ? error.message : error instanceof Error ? error.message : String(error)}`,
    );
    return 1;
  }
}

function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      root: { type: 'string' },
      mirror: { type: 'string' },
      set: { type: 'string', multiple: true },
      state: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 1) throw new Error(`one action at most, got: ${positionals.join(' ')}`);
  const action = positionals[0] ?? 'foreground';
  if (action !== 'foreground' && action !== 'start' && action !== 'stop' && action !== 'status') {
    throw new Error(`unknown action "${action}" (start, stop or status; none runs in the foreground)`);
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (values.port !== undefined && (!/^\d+$/.test(values.port) || port > 65535)) {
    throw new Error(`--port must be an integer from 0 to 65535, got "${values.port}".`);
  }
  const settings: Record<string, string> = {};
  for (const item of values.set ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw new Error(`--set takes name=value, got "${item}".`);
    settings[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return {
    action,
    portGiven: values.port !== undefined,
    state: resolve(findProjectDir(), values.state ?? STATE_FILE),
    options: { port, root: values.root, mirror: values.mirror, settings },
  };
}

function progress(message: string): void {
  console.error(`prisma-pgvector db-native: ${message}`);
}

async function foreground(options: NativeServerOptions): Promise<number> {
  // Installed before the start (a root build takes minutes) so that Ctrl+C then still cleans up.
  let requestStop: () => void = () => {};
  const stopRequested = new Promise<'stop'>((resolve) => {
    requestStop = () => resolve('stop');
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    // A second signal: leave now; the exit handler still stops and removes the cluster.
    if (signals > 1) process.exit(signal === 'SIGINT' ? 130 : 143);
    console.error(`Received ${signal}, stopping…`);
    requestStop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const server = await startNativeServer({ ...options, onProgress: progress });
    try {
      if (signals > 0) return 0;
      console.error(await banner(server, 'Stop with Ctrl+C: the cluster is removed.'));
      console.log(`DATABASE_URL=${server.url}`);
      const outcome = await Promise.race([stopRequested, whenItStops(server)]);
      if (outcome === 'died') {
        console.error(`prisma-pgvector db-native: the server stopped on its own. Last lines of its log:`);
        console.error(server.logTail(20));
        return 1;
      }
      return 0;
    } finally {
      await server.destroy();
      console.error('Stopped; the cluster was removed.');
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Resolves with 'died' once the server no longer runs (checked every 2 s). */
async function whenItStops(server: NativeServer): Promise<'died'> {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    if (!(await server.isRunning())) return 'died';
  }
}

async function startDetached(parsed: ParsedArgs): Promise<number> {
  const path = parsed.state;
  const existing = readState(path);
  if (existing) {
    const server = attachOrForget(existing);
    if (server && (await server.isRunning())) {
      if (parsed.portGiven && parsed.options.port !== 0 && parsed.options.port !== existing.port) {
        console.error(
          `prisma-pgvector db-native: a native server already runs on port ${existing.port} (${path}).\n` +
            'Fix: stop it first (`prisma-pgvector db-native stop`).',
        );
        return 1;
      }
      console.error(`A native server already runs on port ${existing.port} (data in ${existing.dataDir}).`);
      console.log(`DATABASE_URL=${existing.url}`);
      return 0;
    }
    // Recorded, but no longer running (the machine rebooted, or it was killed): clear it away.
    await server?.destroy();
    rmSync(path, { force: true });
  }
  const server = await startNativeServer({ ...parsed.options, detached: true, onProgress: progress });
  const state: NativeState = {
    url: server.url,
    port: server.port,
    dataDir: server.dataDir,
    logFile: server.logFile,
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  console.error(
    await banner(server, 'Stop it with `prisma-pgvector db-native stop` (npm run db:native -- stop).'),
  );
  console.log(`DATABASE_URL=${server.url}`);
  return 0;
}

async function stopDetached(path: string): Promise<number> {
  const state = readState(path);
  if (!state) {
    console.error(`No native server recorded (${path}): nothing to stop.`);
    return 0;
  }
  const server = attachOrForget(state);
  await server?.destroy();
  rmSync(path, { force: true });
  console.error(`Stopped the native server on port ${state.port}; its cluster was removed.`);
  return 0;
}

async function status(path: string): Promise<number> {
  const state = readState(path);
  const server = state && attachOrForget(state);
  if (!state || !server || !(await server.isRunning())) {
    console.error(`No native server runs${state ? ` (recorded in ${path}, but stopped)` : ''}.`);
    return 3;
  }
  console.error(
    `Running on port ${state.port} since ${state.startedAt}; data ${state.dataDir}; log ${state.logFile}.`,
  );
  console.log(`DATABASE_URL=${state.url}`);
  return 0;
}

function readState(path: string): NativeState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Partial<NativeState>;
    if (
      typeof value.url === 'string' &&
      typeof value.port === 'number' &&
      typeof value.dataDir === 'string'
    ) {
      return value as NativeState;
    }
  } catch {
    // unreadable: treated as absent
  }
  console.error(`prisma-pgvector db-native: ignoring ${path} (not a state file of this command).`);
  return undefined;
}

/** A handle on the recorded cluster, or undefined when its folder is gone. */
function attachOrForget(state: NativeState): NativeServer | undefined {
  try {
    return attachNativeServer(state.dataDir);
  } catch {
    return undefined;
  }
}

/** What runs where, for stderr. */
async function banner(server: NativeServer, stopHint: string): Promise<string> {
  const client = new pg.Client({ connectionString: server.url });
  let engine = `PostgreSQL ${NATIVE_POSTGRES_MAJOR}`;
  let pgvector = 'pgvector';
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string; vector: string | null }>(
      "SELECT current_setting('server_version') AS version, " +
        "(SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS vector",
    );
    engine = `PostgreSQL ${rows[0]?.version ?? NATIVE_POSTGRES_MAJOR}`;
    pgvector = `pgvector ${rows[0]?.vector ?? '(missing)'}`;
  } finally {
    await client.end().catch(() => {});
  }
  return [
    `Native ${engine} with ${pgvector} (CREATE EXTENSION vector) on 127.0.0.1:${server.port}, trust auth.`,
    `Data: ${server.dataDir}; log: ${server.logFile}.`,
    stopHint,
  ].join('\n');
}
