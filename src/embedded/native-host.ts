/** Commands, processes and files on the host, for the native root (`native-root.ts`) and its clusters. */

import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  lstatSync,
  readFileSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { isErrnoException } from './data-dir.js';

export interface CommandResult {
  readonly code: number | null;
  readonly signal: string | null;
  /** stdout and stderr interleaved (the last 64 KiB). */
  readonly output: string;
}

/** Runs a command to its end, collecting its output (and appending it to `logFile`). */
export function runCommand(
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

export function chrootPath(): string {
  return findExecutable('chroot') ?? '/usr/sbin/chroot';
}

/** An executable in PATH or the usual sbin folders (root's tools are there even when PATH lacks them). */
export function findExecutable(name: string): string | undefined {
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

/**
 * Removes a folder tree. Mount points inside it are unmounted first when `unmount` (folders our own
 * debootstrap run left behind), else the tree is left alone (false): deleting through a bind mount would
 * delete the host's files.
 */
export function removeTree(path: string, options: { unmount: boolean }): boolean {
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

export function mountPointsUnder(path: string): string[] {
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

export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrnoException(error) && error.code === 'EPERM';
  }
}

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function tailOfFile(path: string, lines: number): string {
  return lastLines(readText(path) ?? '', lines);
}

export function lastLines(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

export function isFile(path: string): boolean {
  return statSafe(path)?.isFile() ?? false;
}

export function statSafe(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

export function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export function fileSize(path: string): number {
  return statSafe(path)?.size ?? 0;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}
