import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { PgVectorError } from '../core/errors.js';
import {
  type CommandResult,
  chrootPath,
  fileSize,
  indent,
  lastLines,
  processIsAlive,
  readText,
  removeTree,
  runCommand,
  statSafe,
  tailOfFile,
} from './native-host.js';
import {
  assertCanRun,
  BIN,
  DEFAULT_NATIVE_ROOT,
  ensureNativeRoot,
  type NativeRootOptions,
  type PostgresUser,
  readPostgresUser,
} from './native-root.js';

/**
 * The native PostgreSQL + pgvector for development, tests, CI and benchmarks: Debian 13 ("trixie")
 * packages `postgresql-17` and `postgresql-17-pgvector` in a root made by `debootstrap` under the project
 * (git-ignored `.native/root`), and throwaway clusters run from it with `chroot` on 127.0.0.1. Needs Linux,
 * root and `debootstrap`; installs nothing into the host system and makes no mounts. See docs/NATIVE.md.
 */

export {
  DEFAULT_NATIVE_ROOT,
  ensureNativeRoot,
  findProjectDir,
  inspectNativeRoot,
  NATIVE_PACKAGES,
  NATIVE_POSTGRES_MAJOR,
  NATIVE_ROOT_MARKER,
  NATIVE_SUITE,
  type NativeRoot,
  type NativeRootOptions,
  type NativeRootStatus,
  readAptMirror,
  resolveNativeRootDir,
} from './native-root.js';

/** Where clusters live inside the root: `<root>/var/lib/prisma-pgvector/<id>/{data,postgres.log,run}`. */
const CLUSTERS_DIR = '/var/lib/prisma-pgvector';
/** The settings file the clusters' postgresql.conf includes (port, sockets and the caller's settings). */
const SETTINGS_FILE = 'prisma-pgvector.conf';
/** Who started a cluster, and whether it should outlive that process. */
const OWNER_FILE = 'owner.json';

/** Environment of every command run inside the root: nothing of the host's leaks in. */
const ROOT_ENV: NodeJS.ProcessEnv = {
  PATH: `${BIN}:/usr/sbin:/usr/bin:/sbin:/bin`,
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  HOME: '/var/lib/postgresql',
  TZ: 'UTC',
};

/**
 * The settings of every throwaway cluster (before {@link NativeServerOptions.settings}): fast and
 * disposable, yet committed transactions survive an `immediate` stop (only an OS crash could lose them).
 *
 * ### Examples
 * ```ts
 * await startNativeServer({ settings: { ...NATIVE_DEFAULT_SETTINGS, max_connections: '300' } });
 * ```
 */
export const NATIVE_DEFAULT_SETTINGS: Readonly<Record<string, string>> = {
  max_connections: '200',
  shared_buffers: '128MB',
  dynamic_shared_memory_type: 'sysv',
  huge_pages: 'off',
  fsync: 'off',
  full_page_writes: 'off',
  // synchronous_commit stays on: a COMMIT that returned is in the WAL, which an immediate stop keeps.
  synchronous_commit: 'on',
  max_wal_size: '2GB',
  log_min_messages: 'warning',
  log_line_prefix: '%m [%p] ',
};

/** Settings the module owns: listening only on loopback, in private socket and data directories. */
const RESERVED_SETTINGS = new Set([
  'listen_addresses',
  'port',
  'unix_socket_directories',
  'unix_socket_permissions',
  'unix_socket_group',
  'hba_file',
  'ident_file',
  'data_directory',
  'config_file',
  'external_pid_file',
]);

// ---------------------------------------------------------------------------------------------------------
// Clusters
// ---------------------------------------------------------------------------------------------------------

/** Options of {@link startNativeServer}. */
export interface NativeServerOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number | undefined;
  /** The native root folder (built when missing or broken). Default {@link DEFAULT_NATIVE_ROOT} under the project. */
  readonly root?: string | undefined;
  /** Folder a relative {@link root} is resolved from; see {@link NativeRootOptions.projectDir}. */
  readonly projectDir?: string | undefined;
  /** Debian mirror, should the root be built. Default: apt's own. */
  readonly mirror?: string | undefined;
  /**
   * Server settings (`postgresql.conf` names and values), applied after {@link NATIVE_DEFAULT_SETTINGS}.
   * `listen_addresses`, `port`, socket and file locations are the module's and are refused.
   */
  readonly settings?: Readonly<Record<string, string>> | undefined;
  /**
   * Let the cluster outlive this process (for `db-native start`). Default false: a cluster this process
   * has not destroyed is stopped and removed when it exits, and one whose process died without doing so
   * is removed by the next {@link startNativeServer} on the same root.
   */
  readonly detached?: boolean | undefined;
  /** Progress messages (a root build, the cluster's start), for a CLI to print. */
  readonly onProgress?: ((message: string) => void) | undefined;
}

/**
 * A throwaway PostgreSQL 17 + pgvector cluster running from the native root, from
 * {@link startNativeServer}: trust authentication, on 127.0.0.1 only.
 */
export interface NativeServer {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres` (superuser `postgres`, no password). */
  readonly url: string;
  /** TCP port on 127.0.0.1; the same across {@link stop} and {@link start}. */
  readonly port: number;
  /** The cluster's data directory (PGDATA), as a path on this host. */
  readonly dataDir: string;
  /** The server log, as a path on this host. */
  readonly logFile: string;
  /** The native root the cluster runs from. */
  readonly root: string;
  /** The last `lines` lines of the server log (default 30). */
  logTail(lines?: number): string;
  /** True when the cluster's postmaster runs (`pg_ctl status`). */
  isRunning(): Promise<boolean>;
  /**
   * Stops the server, keeping the data directory: `fast` (default) disconnects clients and checkpoints;
   * `immediate` kills every process at once, as a crash would (the next {@link start} runs crash recovery).
   * A no-op when it is not running.
   */
  stop(options?: { readonly mode?: 'fast' | 'immediate' }): Promise<void>;
  /** Starts the same cluster again: same port, same data (after `immediate`, with crash recovery). */
  start(): Promise<void>;
  /** Stops the server (fast) if it runs, and removes the cluster's folder. Idempotent. */
  destroy(): Promise<void>;
}

/**
 * Starts a throwaway PostgreSQL 17 + pgvector cluster from the native root (built first when missing or
 * broken, see {@link ensureNativeRoot}): a fresh data directory inside the root
 * (`/var/lib/prisma-pgvector/<random>/data`), `initdb` as user `postgres`, trust authentication for
 * 127.0.0.1 and the private Unix socket only, `listen_addresses = '127.0.0.1'`, System V shared memory,
 * {@link NATIVE_DEFAULT_SETTINGS} and then `settings`. Several clusters may run at once from one root.
 *
 * @throws PgVectorError `NATIVE_SERVER_UNAVAILABLE`, `NATIVE_ROOT_FAILED` (see {@link ensureNativeRoot}),
 * `PORT_IN_USE` (the port asked for is taken), `NATIVE_SERVER_FAILED` (initdb or the server failed; the
 * last lines of its output or log are in the message), `INVALID_ARGUMENT` (bad port or settings).
 *
 * ### Examples
 * ```ts
 * const server = await startNativeServer({ settings: { max_parallel_maintenance_workers: '2' } });
 * const pool = new pg.Pool({ connectionString: server.url });
 * await pool.query('CREATE EXTENSION vector');
 * // ...
 * await pool.end();
 * await server.destroy();
 * ```
 */
export async function startNativeServer(options: NativeServerOptions = {}): Promise<NativeServer> {
  const requested = options.port ?? 0;
  if (!Number.isInteger(requested) || requested < 0 || requested > 65535) {
    throw new PgVectorError('INVALID_ARGUMENT', `port must be an integer from 0 to 65535, got ${requested}.`);
  }
  const settings = { ...NATIVE_DEFAULT_SETTINGS, ...validateSettings(options.settings ?? {}) };
  assertCanRun();
  const { dir: root } = await ensureNativeRoot({
    dir: options.root,
    projectDir: options.projectDir,
    mirror: options.mirror,
    onProgress: options.onProgress,
  });
  const user = readPostgresUser(root);
  if (!user) throw new PgVectorError('NATIVE_ROOT_FAILED', `The native root ${root} has no postgres user.`);
  reapAbandonedClusters(root);
  if (requested !== 0) await assertPortFree(requested);

  const id = randomBytes(6).toString('hex');
  const clusterDir = join(root, CLUSTERS_DIR, id);
  mkdirSync(join(root, CLUSTERS_DIR), { recursive: true, mode: 0o755 });
  mkdirSync(clusterDir, { mode: 0o700 });
  const detached = options.detached ?? false;
  const cluster = new NativeCluster(root, id, user, 0, detached, !detached);
  try {
    writeFileSync(
      join(clusterDir, OWNER_FILE),
      `${JSON.stringify({ pid: process.pid, detached: cluster.detached, createdAt: new Date().toISOString() })}\n`,
    );
    chownSync(clusterDir, user.uid, user.gid);
    mkdirSync(join(clusterDir, 'run'), { mode: 0o700 });
    chownSync(join(clusterDir, 'run'), user.uid, user.gid);
    options.onProgress?.(`Creating a cluster in ${clusterDir} (initdb)…`);
    await cluster.initdb(settings);
    for (let attempt = 1; ; attempt++) {
      const port = requested !== 0 ? requested : await freePort();
      cluster.setPort(port);
      try {
        await cluster.start();
        return cluster;
      } catch (error) {
        // A free port picked here can be taken before the server binds it: pick another.
        const taken = error instanceof PgVectorError && error.code === 'PORT_IN_USE';
        if (!taken || requested !== 0 || attempt >= 5) throw error;
      }
    }
  } catch (error) {
    await cluster.destroy().catch(() => {});
    throw error;
  }
}

/**
 * A handle on a cluster that {@link startNativeServer} started, possibly in another process (its
 * {@link NativeServer.dataDir}, e.g. from `.native/state.json`): to stop, restart or destroy it.
 *
 * @throws PgVectorError `INVALID_ARGUMENT` when `dataDir` is not the data directory of such a cluster.
 *
 * ### Examples
 * ```ts
 * const server = attachNativeServer(state.dataDir);
 * if (await server.isRunning()) await server.destroy();
 * ```
 */
export function attachNativeServer(dataDir: string): NativeServer {
  const path = resolve(dataDir);
  const match = /^(.*)\/var\/lib\/prisma-pgvector\/([0-9a-f]+)\/data$/.exec(path);
  const root = match?.[1];
  const id = match?.[2];
  const settingsFile = join(path, SETTINGS_FILE);
  const user = root === undefined ? undefined : readPostgresUser(root);
  const port = Number(/^port = (\d+)$/m.exec(readText(settingsFile) ?? '')?.[1]);
  if (root === undefined || id === undefined || !user || !Number.isInteger(port) || port <= 0) {
    throw new PgVectorError('INVALID_ARGUMENT', `${dataDir} is not the data directory of a native cluster.`, {
      fix: 'Pass the dataDir of a server that startNativeServer started (and that was not destroyed).',
    });
  }
  const owner = readOwner(join(root, CLUSTERS_DIR, id));
  return new NativeCluster(root, id, user, port, owner?.detached ?? true, false);
}

class NativeCluster implements NativeServer {
  readonly root: string;
  readonly detached: boolean;
  readonly dataDir: string;
  readonly logFile: string;
  private readonly user: PostgresUser;
  private readonly clusterDir: string;
  /** Paths as the server sees them, inside the root. */
  private readonly inRoot: { readonly data: string; readonly log: string; readonly run: string };
  private currentPort: number;
  private destroyed = false;
  /** Lifecycle calls run one after the other. */
  private queue: Promise<unknown> = Promise.resolve();

  /** `cleanUpOnExit`: stop and remove the cluster when this process exits without destroying it. */
  constructor(
    root: string,
    id: string,
    user: PostgresUser,
    port: number,
    detached: boolean,
    cleanUpOnExit: boolean,
  ) {
    this.root = root;
    this.user = user;
    this.currentPort = port;
    this.detached = detached;
    const inRootDir = `${CLUSTERS_DIR}/${id}`;
    this.inRoot = { data: `${inRootDir}/data`, log: `${inRootDir}/postgres.log`, run: `${inRootDir}/run` };
    this.clusterDir = join(root, inRootDir);
    this.dataDir = join(root, this.inRoot.data);
    this.logFile = join(root, this.inRoot.log);
    if (cleanUpOnExit) registerForExit(this);
  }

  get port(): number {
    return this.currentPort;
  }

  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.currentPort}/postgres`;
  }

  logTail(lines = 30): string {
    return tailOfFile(this.logFile, lines);
  }

  async isRunning(): Promise<boolean> {
    if (this.destroyed || !existsSync(this.dataDir)) return false;
    const result = await this.pgCtl(['status']);
    return result.code === 0;
  }

  /** Runs initdb and writes the cluster's settings and pg_hba.conf. */
  async initdb(settings: Readonly<Record<string, string>>): Promise<void> {
    const result = await this.inRootAs([
      `${BIN}/initdb`,
      '-D',
      this.inRoot.data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
      '--no-instructions',
    ]);
    if (result.code !== 0) {
      throw new PgVectorError(
        'NATIVE_SERVER_FAILED',
        `initdb failed in the native root ${this.root} (${result.signal ?? `exit code ${result.code}`}):\n${indent(lastLines(result.output, 15))}`,
        { fix: 'Check the disk space and the root (delete the root folder to have it rebuilt).' },
      );
    }
    // Only loopback and the private socket, both trusted; nothing else is accepted.
    writeFileSync(
      join(this.dataDir, 'pg_hba.conf'),
      '# prisma-pgvector: a throwaway cluster, reachable from this machine only\n' +
        'local all all trust\n' +
        'host  all all 127.0.0.1/32 trust\n',
    );
    const conf = join(this.dataDir, 'postgresql.conf');
    writeFileSync(conf, `${readFileSync(conf, 'utf8')}\ninclude '${SETTINGS_FILE}'\n`);
    this.settings = settings;
    this.writeSettings();
  }

  private settings: Readonly<Record<string, string>> = {};

  /** Sets the port (before the first start) and rewrites the settings file with it. */
  setPort(port: number): void {
    this.currentPort = port;
    this.writeSettings();
  }

  private writeSettings(): void {
    const lines = [
      '# Written by prisma-pgvector (src/embedded/native-server.ts); later lines win.',
      `port = ${this.currentPort}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${this.inRoot.run}'`,
      'unix_socket_permissions = 0700',
      ...Object.entries(this.settings).map(([name, value]) => `${name} = ${quoteSetting(value)}`),
    ];
    const file = join(this.dataDir, SETTINGS_FILE);
    writeFileSync(file, `${lines.join('\n')}\n`);
    chownSync(file, this.user.uid, this.user.gid);
  }

  start(): Promise<void> {
    return this.serial(async () => {
      if (this.destroyed) {
        throw new PgVectorError('NATIVE_SERVER_FAILED', `The native cluster ${this.dataDir} was destroyed.`, {
          fix: 'Start a new one with startNativeServer().',
        });
      }
      if ((await this.pgCtl(['status'])).code === 0) return;
      await assertPortFree(this.currentPort);
      const logSize = fileSize(this.logFile);
      const result = await this.pgCtl(['-l', this.inRoot.log, '-w', '-t', '120', 'start']);
      if (result.code === 0) return;
      const log = (readText(this.logFile) ?? '').slice(logSize);
      if (/could not bind|Address already in use/i.test(log)) {
        throw portInUse(this.currentPort);
      }
      throw new PgVectorError(
        'NATIVE_SERVER_FAILED',
        `The native PostgreSQL did not start (pg_ctl ${result.signal ?? `exit code ${result.code}`}). ` +
          `Last lines of its log (${this.logFile}):\n${indent(lastLines(log || result.output, 15))}`,
        { fix: 'Read the log above; `--set name=value` settings the server refused are a common cause.' },
      );
    });
  }

  stop(options: { readonly mode?: 'fast' | 'immediate' } = {}): Promise<void> {
    return this.serial(() => this.stopNow(options.mode ?? 'fast'));
  }

  private async stopNow(mode: 'fast' | 'immediate'): Promise<void> {
    if (this.destroyed || !existsSync(join(this.dataDir, 'postmaster.pid'))) return;
    const result = await this.pgCtl(['-m', mode, '-w', '-t', '120', 'stop']);
    if (result.code === 0) return;
    if ((await this.pgCtl(['status'])).code !== 0) return; // it was not running (a stale pid file)
    throw new PgVectorError(
      'NATIVE_SERVER_FAILED',
      `The native PostgreSQL on port ${this.currentPort} did not stop (${mode}):\n${indent(lastLines(result.output, 10))}`,
      { fix: `Retry with mode 'immediate', or kill the postmaster named in ${this.dataDir}/postmaster.pid.` },
    );
  }

  destroy(): Promise<void> {
    return this.serial(async () => {
      if (this.destroyed) return;
      await this.stopNow('fast');
      this.destroyed = true;
      unregisterForExit(this);
      removeTree(this.clusterDir, { unmount: false });
    });
  }

  /** Stops (immediate) and removes the cluster synchronously: on process exit. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    unregisterForExit(this);
    if (existsSync(join(this.dataDir, 'postmaster.pid'))) {
      spawnSync(
        chrootPath(),
        this.chrootArgs([`${BIN}/pg_ctl`, '-D', this.inRoot.data, '-m', 'immediate', '-w', 'stop']),
        {
          env: ROOT_ENV,
          stdio: 'ignore',
          timeout: 30_000,
        },
      );
    }
    removeTree(this.clusterDir, { unmount: false });
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => {});
    return run;
  }

  private pgCtl(args: readonly string[]): Promise<CommandResult> {
    return this.inRootAs([`${BIN}/pg_ctl`, '-D', this.inRoot.data, ...args]);
  }

  private inRootAs(command: readonly string[]): Promise<CommandResult> {
    return runCommand(chrootPath(), this.chrootArgs(command), { env: ROOT_ENV, timeoutMs: 180_000 });
  }

  private chrootArgs(command: readonly string[]): string[] {
    return [`--userspec=${this.user.uid}:${this.user.gid}`, this.root, ...command];
  }
}

/** Clusters of this process that must not outlive it. */
const liveClusters = new Set<NativeCluster>();

function registerForExit(cluster: NativeCluster): void {
  if (liveClusters.size === 0) process.on('exit', destroyLiveClusters);
  liveClusters.add(cluster);
}

function unregisterForExit(cluster: NativeCluster): void {
  if (liveClusters.delete(cluster) && liveClusters.size === 0) process.off('exit', destroyLiveClusters);
}

function destroyLiveClusters(): void {
  for (const cluster of [...liveClusters]) {
    try {
      cluster.destroySync();
    } catch {
      // best effort while exiting
    }
  }
}

/**
 * Removes clusters whose (non-detached) owner process died without destroying them: a test worker that
 * was killed, for instance.
 */
function reapAbandonedClusters(root: string): void {
  const dir = join(root, CLUSTERS_DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const clusterDir = join(dir, name);
    const owner = readOwner(clusterDir);
    if (owner === undefined) {
      // Being created right now, or garbage: only old folders are garbage.
      const age = Date.now() - (statSafe(clusterDir)?.mtimeMs ?? Date.now());
      if (age < 10 * 60_000) continue;
    } else if (owner.detached || processIsAlive(owner.pid)) {
      continue;
    }
    try {
      const user = readPostgresUser(root);
      if (user && existsSync(join(clusterDir, 'data/postmaster.pid'))) {
        new NativeCluster(root, name, user, 0, true, false).destroySync();
      } else {
        removeTree(clusterDir, { unmount: false });
      }
    } catch {
      // another process reaps it at the same time
    }
  }
}

function readOwner(clusterDir: string): { pid: number; detached: boolean } | undefined {
  try {
    const value = JSON.parse(readFileSync(join(clusterDir, OWNER_FILE), 'utf8')) as Record<string, unknown>;
    if (typeof value.pid !== 'number') return undefined;
    return { pid: value.pid, detached: value.detached === true };
  } catch {
    return undefined;
  }
}

function validateSettings(settings: Readonly<Record<string, string>>): Record<string, string> {
  const valid: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings)) {
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) {
      throw new PgVectorError('INVALID_ARGUMENT', `"${name}" is not a PostgreSQL setting name.`);
    }
    if (RESERVED_SETTINGS.has(name.toLowerCase())) {
      throw new PgVectorError(
        'INVALID_ARGUMENT',
        `The setting ${name} belongs to the native server (loopback only, private sockets).`,
        { fix: `Leave ${name} out${name === 'port' ? '; pass the port option instead' : ''}.` },
      );
    }
    if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
      throw new PgVectorError('INVALID_ARGUMENT', `The value of setting ${name} must be a one-line string.`);
    }
    valid[name] = value;
  }
  return valid;
}

/** A postgresql.conf value: single-quoted, with quotes and backslashes escaped. */
function quoteSetting(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function portInUse(port: number): PgVectorError {
  return new PgVectorError('PORT_IN_USE', `Port ${port} on 127.0.0.1 is already in use.`, {
    fix: 'Stop what listens there, or choose another port (--port N; 0 picks a free one).',
  });
}

/** Resolves when nothing listens on 127.0.0.1:`port` (we could bind it); else PORT_IN_USE. */
function assertPortFree(port: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' || error.code === 'EACCES' ? portInUse(port) : error);
    });
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolvePromise()));
  });
}

/** A port that is free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}
