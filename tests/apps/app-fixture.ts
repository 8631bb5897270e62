import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { TestDatabase } from '../support/database.js';
import { repoRoot } from '../support/prisma-cli.js';

/**
 * The pieces of the app tests (tests/apps): the package as `npm pack` makes it, a fixture app copied beside
 * it, commands run in that app, and its server on a loopback port. Real processes, real npm, real HTTP.
 */

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs `command args` in `cwd`; never throws on a non-zero exit (the caller asserts on `code`). */
export function run(
  command: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly env?: NodeJS.ProcessEnv; readonly timeoutMs?: number },
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 240_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** `result` formatted for an assertion message: the command's output tails. */
export function outputOf(result: RunResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout.slice(-4000)}\n--- stderr\n${result.stderr.slice(-4000)}`;
}

/**
 * Packs the package as `npm pack` does, from a staging copy of what `files` names (so that a concurrent
 * `npm run build` in the checkout cannot empty dist/ under the packer), into `dir/prisma-pgvector.tgz`.
 * Refuses a tarball without both builds of the main entry and of the `next` and `nest` doors.
 */
export async function packPackage(dir: string): Promise<string> {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { files: string[] };
  const staging = join(dir, 'staging');
  mkdirSync(staging, { recursive: true });
  cpSync(join(repoRoot, 'package.json'), join(staging, 'package.json'));
  for (const entry of manifest.files) {
    if (existsSync(join(repoRoot, entry)))
      cpSync(join(repoRoot, entry), join(staging, entry), { recursive: true });
  }
  const needed = ['index.js', 'integrations/next/index.js', 'integrations/nest/index.js'];
  for (const build of ['esm', 'cjs']) {
    for (const file of needed) {
      if (!existsSync(join(staging, 'dist', build, file))) {
        throw new Error(`dist/${build}/${file} is missing: run \`npm run build\` first`);
      }
    }
  }
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: staging,
    timeoutMs: 60_000,
  });
  if (packed.code !== 0) throw new Error(`npm pack failed\n${outputOf(packed)}`);
  const [info] = JSON.parse(packed.stdout) as { filename: string }[];
  const tarball = join(dir, 'prisma-pgvector.tgz');
  renameSync(join(dir, info!.filename), tarball);
  rmSync(staging, { recursive: true, force: true });
  return tarball;
}

/**
 * A temporary folder holding `prisma-pgvector.tgz` and a copy of `fixtures/<name>` as `app/` (its
 * package.json depends on `file:../prisma-pgvector.tgz`).
 */
export async function prepareApp(
  name: string,
): Promise<{ readonly root: string; readonly app: string; remove(): void }> {
  const root = mkdtempSync(join(tmpdir(), `ppv-${name}-`));
  await packPackage(root);
  const app = join(root, 'app');
  cpSync(join(repoRoot, 'fixtures', name), app, {
    recursive: true,
    filter: (src) => !/[/\\](node_modules|\.next|dist|generated)([/\\]|$)/.test(src),
  });
  return { root, app, remove: () => removeInBackground(root) };
}

/**
 * Removes `dir` with a detached `rm -rf` that outlives the test: an installed app is hundreds of MB, and
 * removing it took ~50 s on a busy 2-core machine, for nothing the test checks.
 */
function removeInBackground(dir: string): void {
  spawn('rm', ['-rf', dir], { detached: true, stdio: 'ignore' }).unref();
}

/** `npm install` in the app, from the npm cache where it can (`--prefer-offline`). */
export function npmInstall(app: string): Promise<RunResult> {
  return run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd: app,
    timeoutMs: 240_000,
  });
}

/**
 * `npx prisma-pgvector init` as the README has a user run it in a fresh Prisma project: the Document model,
 * the hand-written migrations (extension + table, HNSW, a partial HNSW index for `{ type: 'article' }` — the
 * store's default partial index predicate), the preview feature, and the offline engine in prisma.config.ts.
 */
export function initVectorStore(app: string): Promise<RunResult> {
  return run('npx', ['prisma-pgvector', 'init', '--yes', '--partial', 'type=article', '--offline-engine'], {
    cwd: app,
    timeoutMs: 120_000,
  });
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

export interface AppServer {
  readonly url: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `command args` in `cwd` (its own process group) and waits until `GET <url><probePath>` answers at all
 * (any status), or fails with the server's output after `timeoutMs`.
 */
export async function startServer(
  command: string,
  args: readonly string[],
  options: {
    readonly cwd: string;
    readonly port: number;
    readonly env: NodeJS.ProcessEnv;
    readonly probePath?: string;
    readonly timeoutMs?: number;
  },
): Promise<AppServer> {
  const child: ChildProcess = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const url = `http://127.0.0.1:${options.port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-(child.pid as number), 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {}
    }, 5_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}\n${log}`);
    try {
      await fetch(`${url}${options.probePath ?? '/'}`, { signal: AbortSignal.timeout(2_000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`the server did not answer on ${url} in time\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { url, output: () => log, stop };
}

/** `POST url` with a JSON body (or raw text); the status and the parsed JSON answer. */
export async function postJson(
  url: string,
  body: unknown,
  options: { readonly raw?: boolean } = {},
): Promise<{ readonly status: number; readonly body: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: options.raw ? String(body) : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed };
}

/**
 * One app test's record: its timed steps, and what {@link AppTestRun.close} releases (the server, the
 * database, the installed app) and then prints, so that a test file's `afterAll` is one line.
 */
export class AppTestRun {
  readonly steps: string[] = [];
  server: AppServer | undefined;
  db: TestDatabase | undefined;
  remove: (() => void) | undefined;

  constructor(private readonly name: string) {}

  /** Runs a command step, records its time, and fails the test (with its output) when it exits non-zero. */
  async step(name: string, fn: () => Promise<RunResult>): Promise<RunResult> {
    const result = await fn();
    this.steps.push(`${name} ${(result.ms / 1000).toFixed(1)} s`);
    expect(result.code, `${name}\n${outputOf(result)}`).toBe(0);
    return result;
  }

  /** Records the seconds since `since` (a `Date.now()`) under `name`. */
  mark(name: string, since: number): void {
    this.steps.push(`${name} ${((Date.now() - since) / 1000).toFixed(1)} s`);
  }

  /** Stops the server, closes the database, removes the app (each timed), then prints the steps. */
  async close(): Promise<void> {
    const timed = async (name: string, fn: () => unknown) => {
      const t = Date.now();
      await fn();
      this.mark(name, t);
    };
    await timed('server stop', () => this.server?.stop());
    await timed('database close', () => this.db?.close());
    await timed('remove', () => this.remove?.());
    if (this.steps.length) console.log(`${this.name}: ${this.steps.join(', ')}`);
  }
}
