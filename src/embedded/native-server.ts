import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  chownSync,
  constants,
  type Dirent,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { PgVectorError } from '../core/errors.js';
import { isErrnoException } from './data-dir.js';

/**
 * The native PostgreSQL + pgvector for development, tests, CI and benchmarks: Debian 13 ("trixie")
 * packages `postgresql-17` and `postgresql-17-pgvector` in a root made by `debootstrap` under the project
 * (git-ignored `.native/root`), and throwaway clusters run from it with `chroot` on 127.0.0.1. Needs Linux,
 * root and `debootstrap`; installs nothing into the host system and makes no mounts. See docs/NATIVE.md.
 */

/** Major version of the PostgreSQL that the native root runs. */
export const NATIVE_POSTGRES_MAJOR = 17;

/** The Debian release the native root is made of (the first with a pgvector package). */
export const NATIVE_SUITE = 'trixie';

/** The Debian packages installed into the native root, besides debootstrap's minimal base. */
export const NATIVE_PACKAGES: readonly string[] = [
  `postgresql-${NATIVE_POSTGRES_MAJOR}`,
  `postgresql-${NATIVE_POSTGRES_MAJOR}-pgvector`,
];

/**
 * Where the native root lives by default, relative to the project directory (the nearest folder above the
 * current directory that holds a `package.json`).
 *
 * ### Examples
 * ```ts
 * await ensureNativeRoot(); // <project>/.native/root
 * ```
 */
export const DEFAULT_NATIVE_ROOT = '.native/root';

/** File the root builder writes last: a root without it was never finished and is never used. */
export const NATIVE_ROOT_MARKER = '.prisma-pgvector-root.json';

/** Where clusters live inside the root: `<root>/var/lib/prisma-pgvector/<id>/{data,postgres.log,run}`. */
const CLUSTERS_DIR = '/var/lib/prisma-pgvector';
/** The settings file the clusters' postgresql.conf includes (port, sockets and the caller's settings). */
const SETTINGS_FILE = 'prisma-pgvector.conf';
/** Who started a cluster, and whether it should outlive that process. */
const OWNER_FILE = 'owner.json';

const BIN = `/usr/lib/postgresql/${NATIVE_POSTGRES_MAJOR}/bin`;
/** Files a healthy root has, relative to the root. */
const REQUIRED_FILES: readonly string[] = [
  `${BIN}/initdb`,
  `${BIN}/pg_ctl`,
  `${BIN}/postgres`,
  `/usr/lib/postgresql/${NATIVE_POSTGRES_MAJOR}/lib/vector.so`,
  `/usr/share/postgresql/${NATIVE_POSTGRES_MAJOR}/extension/vector.control`,
  '/etc/passwd',
];

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
// The root
// ---------------------------------------------------------------------------------------------------------

/** Options of {@link ensureNativeRoot} (also accepted by {@link startNativeServer}). */
export interface NativeRootOptions {
  /** The root folder. Default {@link DEFAULT_NATIVE_ROOT} under {@link projectDir}. */
  readonly dir?: string | undefined;
  /** Folder a relative {@link dir} is resolved from. Default: the nearest folder with a `package.json` above the current directory. */
  readonly projectDir?: string | undefined;
  /** Debian mirror for debootstrap. Default: the one apt's own sources name ({@link readAptMirror}). */
  readonly mirror?: string | undefined;
  /** Build the root when it is missing or broken. Default true; false throws `NATIVE_ROOT_FAILED` instead. */
  readonly build?: boolean | undefined;
  /** Progress messages (the build takes 1-2 minutes), for a CLI to print. */
  readonly onProgress?: ((message: string) => void) | undefined;
}

/** What {@link inspectNativeRoot} found. */
export interface NativeRootStatus {
  /** Absolute path of the root. */
  readonly dir: string;
  /** True when every required file and the builder's marker are there. */
  readonly healthy: boolean;
  /** What is missing (paths inside the root), empty when healthy. */
  readonly missing: readonly string[];
}

/** A healthy native root, from {@link ensureNativeRoot}. */
export interface NativeRoot {
  /** Absolute path of the root. */
  readonly dir: string;
  /** True when this call built it. */
  readonly built: boolean;
}

/**
 * The folder the native root is in: `dir` (resolved from `projectDir`), else {@link DEFAULT_NATIVE_ROOT}
 * under the project.
 *
 * ### Examples
 * ```ts
 * resolveNativeRootDir({ projectDir: '/repo' }); // '/repo/.native/root'
 * ```
 */
export function resolveNativeRootDir(options: Pick<NativeRootOptions, 'dir' | 'projectDir'> = {}): string {
  const base = options.projectDir ?? findProjectDir(process.cwd());
  return resolve(base, options.dir ?? DEFAULT_NATIVE_ROOT);
}

/**
 * The project directory: the nearest folder at or above `from` that holds a `package.json` (else `from`).
 * The native root and the CLI's `.native/state.json` live under it.
 *
 * ### Examples
 * ```ts
 * findProjectDir('/repo/src/cli'); // '/repo'
 * ```
 */
export function findProjectDir(from: string = process.cwd()): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(from);
  }
}

/**
 * Checks a native root without changing it: the PostgreSQL binaries (`initdb`, `pg_ctl`, `postgres`),
 * pgvector's `vector.so` and `vector.control`, the `postgres` user, and the marker the builder writes at the
 * very end. A root that lacks any of them is broken and is never used.
 *
 * ### Examples
 * ```ts
 * const { healthy, missing } = inspectNativeRoot('.native/root');
 * if (!healthy) console.error(`missing: ${missing.join(', ')}`);
 * ```
 */
export function inspectNativeRoot(dir: string): NativeRootStatus {
  const root = resolve(dir);
  const missing: string[] = [];
  for (const file of REQUIRED_FILES) {
    if (!isFile(join(root, file))) missing.push(file);
  }
  if (!missing.includes('/etc/passwd') && readPostgresUser(root) === undefined) {
    missing.push('/etc/passwd: user postgres');
  }
  if (!readMarker(root)) missing.push(`/${NATIVE_ROOT_MARKER}`);
  return { dir: root, healthy: missing.length === 0, missing };
}

/**
 * Returns a healthy native root, building it when it is missing or broken: `debootstrap --variant=minbase
 * --include=postgresql-17,postgresql-17-pgvector trixie` from apt's own mirror into a temporary sibling
 * folder, which is renamed into place only once complete (a half-built root is never used). A broken root
 * is replaced (and removed) only when no cluster runs in it. Concurrent callers, in this process or others,
 * wait for one build.
 *
 * @throws PgVectorError `NATIVE_SERVER_UNAVAILABLE` (not Linux, not root, no `debootstrap`, no apt mirror),
 * `NATIVE_ROOT_FAILED` (debootstrap failed — the last lines of its log are in the message — or the root is
 * broken and `build` is false, or a cluster still runs in the broken root).
 *
 * ### Examples
 * ```ts
 * const { dir, built } = await ensureNativeRoot({ onProgress: console.error });
 * ```
 */
export async function ensureNativeRoot(options: NativeRootOptions = {}): Promise<NativeRoot> {
  const dir = resolveNativeRootDir(options);
  const status = inspectNativeRoot(dir);
  if (status.healthy) return { dir, built: false };
  if (options.build === false) {
    throw new PgVectorError(
      'NATIVE_ROOT_FAILED',
      `The native root ${dir} is missing or broken (missing: ${status.missing.join(', ')}).`,
      { fix: 'Build it: run `npm run db:native` (as root, with debootstrap installed).' },
    );
  }
  const debootstrap = assertCanBuild();
  let pending = buildsInProgress.get(dir);
  if (!pending) {
    pending = buildLocked(dir, debootstrap, options).finally(() => buildsInProgress.delete(dir));
    buildsInProgress.set(dir, pending);
  }
  return pending;
}

/** Builds under way in this process, by root folder. */
const buildsInProgress = new Map<string, Promise<NativeRoot>>();

async function buildLocked(
  dir: string,
  debootstrap: string,
  options: NativeRootOptions,
): Promise<NativeRoot> {
  mkdirSync(dirname(dir), { recursive: true });
  const release = await acquireBuildLock(`${dir}.lock`, options.onProgress);
  try {
    // Another process may have built it while this one waited for the lock.
    const status = inspectNativeRoot(dir);
    if (status.healthy) return { dir, built: false };
    if (pathExists(dir)) assertNoRunningCluster(dir, status.missing);
    removeStaleBuilds(dir);
    await buildRoot(dir, debootstrap, options);
    return { dir, built: true };
  } finally {
    release();
  }
}

async function buildRoot(dir: string, debootstrap: string, options: NativeRootOptions): Promise<void> {
  const mirror = options.mirror ?? readAptMirror();
  if (!mirror) {
    throw new PgVectorError(
      'NATIVE_SERVER_UNAVAILABLE',
      'No Debian mirror found in apt’s sources (/etc/apt/sources.list, /etc/apt/sources.list.d/).',
      { fix: 'Pass the mirror to use (`--mirror <uri>`, or the `mirror` option).' },
    );
  }
  const building = `${dir}.build-${randomBytes(4).toString('hex')}`;
  const log = `${dir}.build.log`;
  const started = Date.now();
  options.onProgress?.(
    `Building the native root ${dir}: debootstrap ${NATIVE_SUITE} with ${NATIVE_PACKAGES.join(', ')} ` +
      `(1-2 minutes, ~600 MB; log in ${log})…`,
  );
  const args = [
    '--variant=minbase',
    `--include=${NATIVE_PACKAGES.join(',')}`,
    NATIVE_SUITE,
    building,
    mirror,
  ];
  writeFileSync(log, `$ debootstrap ${args.join(' ')}\n`);
  let result: CommandResult;
  try {
    result = await runCommand(debootstrap, args, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      logFile: log,
      timeoutMs: 30 * 60_000,
    });
  } catch (error) {
    removeTree(building, { unmount: true });
    throw error;
  }
  if (result.code !== 0) {
    // debootstrap's own log (wget's answers) goes away with the folder: keep it in the build log.
    const internal = readText(join(building, 'debootstrap/debootstrap.log')) ?? '';
    if (internal) writeFileSync(log, `--- debootstrap/debootstrap.log\n${internal}`, { flag: 'a' });
    const detail = [lastLines(result.output, 8), lastLines(internal, 4)].filter(Boolean).join('\n');
    removeTree(building, { unmount: true });
    throw new PgVectorError(
      'NATIVE_ROOT_FAILED',
      `debootstrap could not build the native root from ${mirror} (${result.signal ?? `exit code ${result.code}`}). ` +
        `Last lines of its log:\n${indent(detail)}`,
      {
        fix:
          `Check that this mirror is reachable (\`apt-get update\` works) or pass another one (--mirror <uri>); ` +
          `full log: ${log}.`,
      },
    );
  }
  const built = inspectNativeRoot(building);
  const incomplete = built.missing.filter((file) => file !== `/${NATIVE_ROOT_MARKER}`);
  if (incomplete.length > 0) {
    removeTree(building, { unmount: true });
    throw new PgVectorError(
      'NATIVE_ROOT_FAILED',
      `debootstrap finished, but the root lacks ${incomplete.join(', ')}.`,
      { fix: `Check which packages it installed in ${log}; the mirror must serve ${NATIVE_SUITE}.` },
    );
  }
  // The downloaded packages are installed: ~100 MB that nothing reads again.
  rmSync(join(building, 'var/cache/apt/archives'), { recursive: true, force: true });
  mkdirSync(join(building, 'var/cache/apt/archives/partial'), { recursive: true });
  writeFileSync(
    join(building, NATIVE_ROOT_MARKER),
    `${JSON.stringify({ format: 1, suite: NATIVE_SUITE, packages: NATIVE_PACKAGES, builtAt: new Date().toISOString() })}\n`,
  );
  if (pathExists(dir)) {
    const aside = `${dir}.broken-${Date.now()}`;
    renameSync(dir, aside);
    renameSync(building, dir);
    if (!removeTree(aside, { unmount: false })) {
      options.onProgress?.(`Left the broken root at ${aside}: something is mounted inside it.`);
    }
  } else {
    renameSync(building, dir);
  }
  options.onProgress?.(`Built the native root in ${Math.round((Date.now() - started) / 1000)} s.`);
}

/** Checks that this machine can build and run a native root; returns the path of `debootstrap`. */
function assertCanBuild(): string {
  assertCanRun();
  const debootstrap = findExecutable('debootstrap');
  if (!debootstrap) {
    throw new PgVectorError('NATIVE_SERVER_UNAVAILABLE', '`debootstrap` is not installed.', {
      fix: 'Install it: `apt-get install debootstrap` (nothing else is installed on this machine).',
    });
  }
  return debootstrap;
}

/** Checks that this process can run clusters from a root: Linux and root (for `chroot`). */
function assertCanRun(): void {
  if (process.platform !== 'linux') {
    throw new PgVectorError(
      'NATIVE_SERVER_UNAVAILABLE',
      `The native server runs on Linux only (this is ${process.platform}).`,
      {
        fix: 'Use the embedded database (`npm run db`) or any PostgreSQL with pgvector (TEST_DATABASE_URL).',
      },
    );
  }
  if (process.getuid?.() !== 0) {
    throw new PgVectorError(
      'NATIVE_SERVER_UNAVAILABLE',
      'The native server needs root (it builds its root with debootstrap and runs it with chroot).',
      { fix: 'Run as root (e.g. `sudo npm run db:native`), or use the embedded database (`npm run db`).' },
    );
  }
}

/**
 * The Debian mirror apt's own sources name: the first enabled `deb` source of the main archive (a suite
 * without `-security`/`-updates`), from `/etc/apt/sources.list.d/*.sources` (deb822), `*.list` and
 * `/etc/apt/sources.list`; undefined when there is none.
 *
 * ### Examples
 * ```ts
 * const mirror = readAptMirror(); // the URI of apt's main Debian source, as written there
 * ```
 */
export function readAptMirror(aptDir = '/etc/apt'): string | undefined {
  const sources: { uri: string; suites: string[] }[] = [];
  const listDir = join(aptDir, 'sources.list.d');
  let files: string[] = [];
  try {
    files = readdirSync(listDir).sort();
  } catch {
    // no sources.list.d
  }
  for (const file of files) {
    const text = readText(join(listDir, file));
    if (text === undefined) continue;
    if (file.endsWith('.sources')) sources.push(...parseDeb822Sources(text));
    else if (file.endsWith('.list')) sources.push(...parseOneLineSources(text));
  }
  sources.push(...parseOneLineSources(readText(join(aptDir, 'sources.list')) ?? ''));
  const usable = sources.filter((s) => !s.uri.startsWith('cdrom:'));
  const main = usable.find((s) => s.suites.some((suite) => !suite.includes('-') && !suite.includes('/')));
  return (main ?? usable[0])?.uri.replace(/\/+$/, '');
}

function parseDeb822Sources(text: string): { uri: string; suites: string[] }[] {
  const found: { uri: string; suites: string[] }[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (match?.[1] && match[2] !== undefined) fields.set(match[1].toLowerCase(), match[2].trim());
    }
    const types = (fields.get('types') ?? '').split(/\s+/);
    if (!types.includes('deb') || fields.get('enabled')?.toLowerCase() === 'no') continue;
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) found.push({ uri, suites });
  }
  return found;
}

function parseOneLineSources(text: string): { uri: string; suites: string[] }[] {
  const found: { uri: string; suites: string[] }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw
      .replace(/#.*$/, '')
      .replace(/\[[^\]]*\]/, ' ')
      .trim();
    const [type, uri, suite] = line.split(/\s+/);
    if (type === 'deb' && uri && suite) found.push({ uri, suites: [suite] });
  }
  return found;
}

/** Takes the build lock (a file naming its process), waiting while a live process holds it. */
async function acquireBuildLock(
  path: string,
  onProgress: ((message: string) => void) | undefined,
): Promise<() => void> {
  const deadline = Date.now() + 30 * 60_000;
  let told = false;
  for (;;) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      return () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if (!isErrnoException(error) || error.code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(readText(path) ?? '', 10);
    if (!Number.isInteger(owner) || !processIsAlive(owner)) {
      rmSync(path, { force: true }); // left by a process that died: take it over
      continue;
    }
    if (Date.now() > deadline) {
      throw new PgVectorError(
        'NATIVE_ROOT_FAILED',
        `Process ${owner} has been building the native root for 30 minutes (lock ${path}).`,
        { fix: `Stop process ${owner} if it hangs, then retry.` },
      );
    }
    if (!told) onProgress?.(`Waiting for process ${owner}, which is building the native root…`);
    told = true;
    await sleep(1000);
  }
}

/** Removes `<dir>.build-*` folders left by builds that died (the caller holds the build lock). */
function removeStaleBuilds(dir: string): void {
  const parent = dirname(dir);
  const prefix = `${dir.slice(parent.length + 1)}.build-`;
  for (const name of readdirSync(parent)) {
    if (name.startsWith(prefix)) removeTree(join(parent, name), { unmount: true });
  }
}

/** Refuses to replace a broken root in which a cluster still runs. */
function assertNoRunningCluster(dir: string, missing: readonly string[]): void {
  const running = findRunningPostmasters(join(dir, 'var/lib'), 4);
  if (running.length > 0) {
    throw new PgVectorError(
      'NATIVE_ROOT_FAILED',
      `The native root ${dir} is broken (missing: ${missing.join(', ')}), but PostgreSQL still runs in it ` +
        `(${running.join(', ')}).`,
      { fix: 'Stop those clusters (pg_ctl stop inside the root), then retry: the root is rebuilt.' },
    );
  }
}

/** Data directories under `dir` (up to `depth` levels) whose postmaster.pid names a live process. */
function findRunningPostmasters(dir: string, depth: number): string[] {
  const found: string[] = [];
  const visit = (path: string, level: number): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isFile() && entry.name === 'postmaster.pid') {
        const pid = Number.parseInt(readText(join(path, entry.name))?.split('\n')[0] ?? '', 10);
        if (Number.isInteger(pid) && processIsAlive(pid)) found.push(path);
      } else if (entry.isDirectory() && level < depth) {
        visit(join(path, entry.name), level + 1);
      }
    }
  };
  visit(dir, 0);
  return found;
}

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

interface PostgresUser {
  readonly uid: number;
  readonly gid: number;
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

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

interface CommandResult {
  readonly code: number | null;
  readonly signal: string | null;
  /** stdout and stderr interleaved (the last 64 KiB). */
  readonly output: string;
}

/** Runs a command to its end, collecting its output (and appending it to `logFile`). */
function runCommand(
  file: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; logFile?: string; timeoutMs: number },
): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-65_536);
      if (options.logFile) writeFileSync(options.logFile, chunk, { flag: 'a' });
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, output });
    });
  });
}

function chrootPath(): string {
  return findExecutable('chroot') ?? '/usr/sbin/chroot';
}

/** An executable in PATH or the usual sbin folders (root's tools are there even when PATH lacks them). */
function findExecutable(name: string): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(':'),
    '/usr/local/sbin',
    '/usr/sbin',
    '/sbin',
    '/usr/bin',
    '/bin',
  ];
  for (const dir of dirs) {
    if (!dir || !isAbsolute(dir)) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      if (statSync(path).isFile()) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The uid and gid of user `postgres` in the root's /etc/passwd. */
function readPostgresUser(root: string): PostgresUser | undefined {
  const line = (readText(join(root, 'etc/passwd')) ?? '').split('\n').find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  const user = { uid: Number(uid), gid: Number(gid) };
  return Number.isInteger(user.uid) && Number.isInteger(user.gid) && uid && gid ? user : undefined;
}

function readMarker(root: string): boolean {
  try {
    const value = JSON.parse(readFileSync(join(root, NATIVE_ROOT_MARKER), 'utf8')) as Record<string, unknown>;
    return value.format === 1 && value.suite === NATIVE_SUITE;
  } catch {
    return false;
  }
}

/**
 * Removes a folder tree. Mount points inside it are unmounted first when `unmount` (folders our own
 * debootstrap run left behind), else the tree is left alone (false): deleting through a bind mount would
 * delete the host's files.
 */
function removeTree(path: string, options: { unmount: boolean }): boolean {
  if (!pathExists(path)) return true;
  let mounts = mountPointsUnder(path);
  if (mounts.length > 0 && options.unmount) {
    for (const mount of mounts.sort((a, b) => b.length - a.length)) {
      spawnSync('umount', ['-l', mount], { stdio: 'ignore' });
    }
    mounts = mountPointsUnder(path);
  }
  if (mounts.length > 0) return false;
  rmSync(path, { recursive: true, force: true, maxRetries: 3 });
  return true;
}

function mountPointsUnder(path: string): string[] {
  const prefix = `${resolve(path)}/`;
  const text = readText('/proc/self/mountinfo') ?? '';
  return text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mount): mount is string => mount !== undefined)
    .map((mount) =>
      mount.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))),
    )
    .filter((mount) => mount === resolve(path) || mount.startsWith(prefix));
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrnoException(error) && error.code === 'EPERM';
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function tailOfFile(path: string, lines: number): string {
  return lastLines(readText(path) ?? '', lines);
}

function lastLines(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

function isFile(path: string): boolean {
  return statSafe(path)?.isFile() ?? false;
}

function statSafe(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function fileSize(path: string): number {
  return statSafe(path)?.size ?? 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}
