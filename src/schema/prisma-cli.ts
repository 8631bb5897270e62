import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

/** What a Prisma CLI run printed and how it exited. */
export interface PrismaCliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface PrismaCliOptions {
  /** DATABASE_URL for the project's prisma.config.ts. */
  readonly databaseUrl?: string | undefined;
  /** Project directory (holds prisma.config.ts and node_modules/prisma). Default `process.cwd()`. */
  readonly cwd?: string | undefined;
  /** Extra environment; `undefined` values are removed. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Kill the CLI after this long. Default 5 minutes. */
  readonly timeoutMs?: number | undefined;
}

/**
 * Runs the project's own Prisma CLI (`node_modules/prisma`) as a child process, without blocking the event
 * loop — so it can talk to an embedded database served by this same process.
 *
 * ### Examples
 * ```ts
 * const { code, stdout } = await runPrismaCli(['migrate', 'deploy'], { databaseUrl: server.url });
 * ```
 */
export function runPrismaCli(
  args: readonly string[],
  options: PrismaCliOptions = {},
): Promise<PrismaCliResult> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const bin = join(
    dirname(createRequire(join(cwd, 'package.json')).resolve('prisma/package.json')),
    'build',
    'index.js',
  );
  return runNode([bin, ...args], {
    cwd,
    timeoutMs: options.timeoutMs,
    env: { ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}), ...options.env },
  });
}

/**
 * Runs `node <args>` as a child process with this process's environment plus `env` (`undefined` removes a
 * variable) and NO_COLOR; resolves with the exit code and the output, never rejects on a non-zero exit.
 */
export function runNode(
  args: readonly string[],
  options: {
    cwd?: string;
    env?: Readonly<Record<string, string | undefined>>;
    timeoutMs?: number | undefined;
  } = {},
): Promise<PrismaCliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, NO_COLOR: '1', ...options.env }))
    if (v !== undefined) env[k] = v;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...args], {
      cwd: options.cwd,
      env,
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
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}
