import { randomUUID } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PgVectorError } from '../core/errors.js';
import { DATA_DIR_LOCK_FILE, isErrnoException } from './data-dir.js';

/**
 * An exclusive claim on a data directory, held through a lock file that names the owning process.
 * Released by {@link DataDirLock.release}, and automatically when the process exits.
 */
export interface DataDirLock {
  /** Absolute path of the lock file. */
  readonly path: string;
  /** Releases the lock (deletes the lock file if this process still owns it). Idempotent. */
  release(): void;
}

interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
}

/** Locks held by this process, by lock file path; released synchronously on process exit. */
const heldLocks = new Map<string, DataDirLock>();

function releaseAllOnExit(): void {
  for (const lock of [...heldLocks.values()]) lock.release();
}

/**
 * Takes the lock of the data directory `dataDir` (which must exist) for this process: creates
 * `<dataDir>/.prisma-pgvector.lock` holding this process's pid. A lock left by a process that no longer
 * runs is taken over. The lock is released by `release()` or when the process exits (also on
 * `process.exit()`; a process killed by a signal leaves a stale lock that the next opener takes over).
 *
 * @throws PgVectorError `DATA_DIR_LOCKED` when another live process, or this process, holds the lock.
 *
 * ### Examples
 * ```ts
 * const lock = acquireDataDirLock('/my/app/.data/pglite');
 * try { ... } finally { lock.release(); }
 * ```
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const path = join(dataDir, DATA_DIR_LOCK_FILE);
  if (heldLocks.has(path)) {
    throw new PgVectorError(
      'DATA_DIR_LOCKED',
      `Data directory ${dataDir} is already open in this process (pid ${process.pid}).`,
      { fix: 'Close the other database handle first, or use another data directory.' },
    );
  }
  const content = `${JSON.stringify({ pid: process.pid, hostname: hostname(), createdAt: new Date().toISOString() })}\n`;

  // A few rounds: each failed round either met a live owner (and threw) or removed a stale lock.
  for (let round = 0; round < 5; round++) {
    if (tryCreate(path, content)) return register(path);
    const existing = readLock(path);
    if (existing === undefined) continue; // removed in between: try again
    const owner = existing.owner;
    if (owner && ownerIsAlive(owner)) throw lockedBy(dataDir, path, owner);
    removeStaleLock(path, existing.raw);
  }
  throw new PgVectorError(
    'DATA_DIR_LOCKED',
    `Could not take the lock of data directory ${dataDir} (${path}).`,
    {
      fix: 'Another process keeps taking it; stop the other users of this data directory and retry.',
    },
  );
}

function register(path: string): DataDirLock {
  let released = false;
  const lock: DataDirLock = {
    path,
    release() {
      if (released) return;
      released = true;
      heldLocks.delete(path);
      if (heldLocks.size === 0) process.off('exit', releaseAllOnExit);
      try {
        if (readLock(path)?.owner?.pid === process.pid) unlinkSync(path);
      } catch (error) {
        if (!isErrnoException(error) || error.code !== 'ENOENT') throw error;
      }
    },
  };
  if (heldLocks.size === 0) process.on('exit', releaseAllOnExit);
  heldLocks.set(path, lock);
  return lock;
}

/** Creates the lock file with `content` unless it exists; false when it exists. */
function tryCreate(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (error) {
    if (isErrnoException(error) && error.code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Reads the lock file: `undefined` when it does not exist; `owner` undefined when its content cannot be
 * parsed even after waiting for a concurrent writer (then it is garbage and treated as stale).
 */
function readLock(path: string): { raw: string; owner: LockOwner | undefined } | undefined {
  for (let attempt = 0; ; attempt++) {
    let raw: string;
    try {
      raw = readFileSync(path, 'utf8');
    } catch (error) {
      if (isErrnoException(error) && error.code === 'ENOENT') return undefined;
      throw error;
    }
    const owner = parseOwner(raw);
    // An empty or partial file may be one that another process is writing right now.
    if (owner || attempt >= 10) return { raw, owner };
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

function parseOwner(raw: string): LockOwner | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null) return undefined;
    const { pid, hostname: host } = value as Record<string, unknown>;
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || typeof host !== 'string')
      return undefined;
    return { pid, hostname: host };
  } catch {
    return undefined;
  }
}

function ownerIsAlive(owner: LockOwner): boolean {
  // A pid on another host cannot be checked: assume it is alive.
  if (owner.hostname !== hostname()) return true;
  // Our own pid without a registered lock: left by an earlier process that had the same pid (containers).
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return isErrnoException(error) && error.code === 'EPERM';
  }
}

/**
 * Removes a stale lock whose content was `staleRaw`. The file is first renamed away (atomic), so that of
 * two processes taking over the same stale lock only one removes it; if what was renamed turns out to be
 * a fresh lock of a third process, it is put back.
 */
function removeStaleLock(path: string, staleRaw: string): void {
  const grave = `${path}.${process.pid}.${randomUUID()}.stale`;
  try {
    renameSync(path, grave);
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') return;
    throw error;
  }
  try {
    if (readFileSync(grave, 'utf8') !== staleRaw) linkSync(grave, path);
  } catch (error) {
    if (!isErrnoException(error) || error.code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(grave);
  }
}

function lockedBy(dataDir: string, path: string, owner: LockOwner): PgVectorError {
  const where =
    owner.hostname === hostname() ? `process ${owner.pid}` : `process ${owner.pid} on host ${owner.hostname}`;
  return new PgVectorError(
    'DATA_DIR_LOCKED',
    `Data directory ${dataDir} is in use by ${where} (lock file ${path}).`,
    {
      fix:
        `Stop that process (for example a running \`prisma-pgvector db\`) or use another --data-dir; ` +
        `if process ${owner.pid} is not using it, delete ${path}.`,
    },
  );
}
