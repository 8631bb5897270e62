import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isPgVectorError, type PgVectorErrorCode } from '../../src/core/errors.js';
import {
  assertCompatibleDataDir,
  DATA_DIR_LOCK_FILE,
  PGLITE_POSTGRES_MAJOR,
} from '../../src/embedded/data-dir.js';
import { acquireDataDirLock } from '../../src/embedded/data-dir-lock.js';
import {
  concatBytes,
  encodeErrorResponse,
  encodeMessage,
  isFrontendMessageType,
  isSingleCopyFromStdin,
  MessageType,
  queryText,
  splitMessages,
} from '../../src/embedded/wire-protocol.js';

const root = mkdtempSync(join(tmpdir(), 'pgv-datadir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => {
  const dir = join(root, `d${counter++}`);
  mkdirSync(dir);
  return dir;
};

function errorCode(fn: () => unknown): PgVectorErrorCode | undefined {
  try {
    fn();
  } catch (error) {
    if (isPgVectorError(error)) return error.code;
    throw error;
  }
  return undefined;
}

function writeLock(dir: string, pid: number, host = hostname()): string {
  const path = join(dir, DATA_DIR_LOCK_FILE);
  writeFileSync(path, JSON.stringify({ pid, hostname: host, createdAt: new Date().toISOString() }));
  return path;
}

describe('assertCompatibleDataDir', () => {
  it('accepts a missing, an empty, a lock-only and a PostgreSQL 18 directory', () => {
    expect(assertCompatibleDataDir(join(root, 'missing'))).toBe(join(root, 'missing'));
    const empty = freshDir();
    expect(assertCompatibleDataDir(empty)).toBe(empty);
    const lockOnly = freshDir();
    writeLock(lockOnly, 1);
    expect(assertCompatibleDataDir(lockOnly)).toBe(lockOnly);
    const pg18 = freshDir();
    writeFileSync(join(pg18, 'PG_VERSION'), `${PGLITE_POSTGRES_MAJOR}\n`);
    expect(assertCompatibleDataDir(pg18)).toBe(pg18);
  });

  it('refuses another PostgreSQL major, naming both versions and the fix', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'PG_VERSION'), '17\n');
    expect(() => assertCompatibleDataDir(dir)).toThrowError(/created by PostgreSQL 17.*runs PostgreSQL 18/s);
    expect(() => assertCompatibleDataDir(dir)).toThrowError(/Fix: Start with a new --data-dir, or dump/);
    expect(errorCode(() => assertCompatibleDataDir(dir))).toBe('DATA_DIR_INCOMPATIBLE');
  });

  it('refuses a non-empty directory that is not a data directory, and a file', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    expect(() => assertCompatibleDataDir(dir)).toThrowError(/not a PostgreSQL data directory.*notes\.txt/);
    expect(errorCode(() => assertCompatibleDataDir(dir))).toBe('DATA_DIR_INCOMPATIBLE');
    expect(errorCode(() => assertCompatibleDataDir(join(dir, 'notes.txt')))).toBe('DATA_DIR_INCOMPATIBLE');
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });
});

describe('acquireDataDirLock', () => {
  it('writes our pid, refuses a second lock in the same process, and deletes the file on release', () => {
    const dir = freshDir();
    const lock = acquireDataDirLock(dir);
    expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
    expect(() => acquireDataDirLock(dir)).toThrowError(`already open in this process (pid ${process.pid})`);
    expect(errorCode(() => acquireDataDirLock(dir))).toBe('DATA_DIR_LOCKED');
    lock.release();
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
    acquireDataDirLock(dir).release();
  });

  it('refuses a lock held by another live process, naming its pid', async () => {
    const dir = freshDir();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      const pid = child.pid ?? 0;
      writeLock(dir, pid);
      expect(() => acquireDataDirLock(dir)).toThrowError(`in use by process ${pid}`);
      expect(errorCode(() => acquireDataDirLock(dir))).toBe('DATA_DIR_LOCKED');
      // A process on another host cannot be checked: never taken over.
      writeLock(dir, 1, 'some-other-host');
      expect(() => acquireDataDirLock(dir)).toThrowError('on host some-other-host');
    } finally {
      child.kill();
    }
  });

  it('takes over a stale lock (dead pid, own pid left by an earlier process, garbage)', () => {
    const dir = freshDir();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    for (const content of [
      () => writeLock(dir, dead),
      () => writeLock(dir, process.pid),
      () => writeFileSync(join(dir, DATA_DIR_LOCK_FILE), 'garbage'),
    ]) {
      content();
      const lock = acquireDataDirLock(dir);
      expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
      lock.release();
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('is released when the process exits', () => {
    const dir = freshDir();
    const module = new URL('../../src/embedded/data-dir-lock.ts', import.meta.url).pathname;
    const script = [
      "import { existsSync } from 'node:fs';",
      `import { acquireDataDirLock } from ${JSON.stringify(module)};`,
      `console.log(existsSync(acquireDataDirLock(${JSON.stringify(dir)}).path));`,
    ].join('\n');
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('true');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('wire protocol helpers', () => {
  it('recognises a single COPY FROM STDIN statement only', () => {
    expect(isSingleCopyFromStdin('COPY t FROM STDIN')).toBe(true);
    expect(isSingleCopyFromStdin('  -- load\n/* x */ copy t (a, b) from stdin with (format binary);  ')).toBe(
      true,
    );
    expect(isSingleCopyFromStdin('SELECT 1; COPY t FROM STDIN')).toBe(false);
    expect(isSingleCopyFromStdin('COPY t FROM STDIN; SELECT 1')).toBe(false);
    expect(isSingleCopyFromStdin('COPY t TO STDOUT')).toBe(false);
    expect(isSingleCopyFromStdin("SELECT 'copy t from stdin'")).toBe(false);
  });

  it('encodes and splits messages', () => {
    const query = encodeMessage(MessageType.Query, new TextEncoder().encode('SELECT 1\0'));
    expect(queryText(query)).toBe('SELECT 1');
    const error = encodeErrorResponse('FATAL', '08P01', 'bad');
    const parts = splitMessages(concatBytes([query, error, new Uint8Array([0x5a, 0, 0])]));
    expect(parts.map((part) => part.length)).toEqual([query.length, error.length, 3]);
    expect(new TextDecoder().decode(parts[1])).toContain('SFATAL\0VFATAL\0C08P01\0Mbad\0');
    expect(isFrontendMessageType(MessageType.Query)).toBe(true);
    expect(isFrontendMessageType('?'.charCodeAt(0))).toBe(false);
  });
});
