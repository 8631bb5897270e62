/**
 * The native root: a Debian 13 ("trixie") tree with `postgresql-17` and `postgresql-17-pgvector`, made by
 * `debootstrap` under the project (git-ignored `.native/root`), checked, and rebuilt when broken. The clusters
 * that run from it are in `native-server.ts`. See docs/NATIVE.md.
 */

import { randomBytes } from 'node:crypto';
import {
  type Dirent,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PgVectorError } from '../core/errors.js';
import { isErrnoException } from './data-dir.js';
import {
  type CommandResult,
  findExecutable,
  indent,
  isFile,
  lastLines,
  pathExists,
  processIsAlive,
  readText,
  removeTree,
  runCommand,
  sleep,
} from './native-host.js';

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

export const BIN = `/usr/lib/postgresql/${NATIVE_POSTGRES_MAJOR}/bin`;
/** Files a healthy root has, relative to the root. */
const REQUIRED_FILES: readonly string[] = [
  `${BIN}/initdb`,
  `${BIN}/pg_ctl`,
  `${BIN}/postgres`,
  `/usr/lib/postgresql/${NATIVE_POSTGRES_MAJOR}/lib/vector.so`,
  `/usr/share/postgresql/${NATIVE_POSTGRES_MAJOR}/extension/vector.control`,
  '/etc/passwd',
];

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
export function assertCanRun(): void {
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

export interface PostgresUser {
  readonly uid: number;
  readonly gid: number;
}
/** The uid and gid of user `postgres` in the root's /etc/passwd. */
export function readPostgresUser(root: string): PostgresUser | undefined {
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
