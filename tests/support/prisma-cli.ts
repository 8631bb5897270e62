import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PrismaCliResult, runPrismaCli } from '../../src/prisma-cli.js';

/** The repository root (prisma.config.ts lives there). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type { PrismaCliResult as CliResult } from '../../src/prisma-cli.js';

/** Runs the real Prisma CLI as a user would (`npx prisma ...`), from the repository root by default. */
export function runPrisma(
  args: readonly string[],
  options: { databaseUrl: string; cwd?: string; env?: Record<string, string | undefined> },
): Promise<PrismaCliResult> {
  return runPrismaCli(args, { cwd: repoRoot, ...options });
}

/** Runs `node <args>` with the repository's environment; resolves with the exit code and the output. */
export function runNode(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<PrismaCliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...options.env };
    const child = spawn(process.execPath, args, {
      cwd: options.cwd ?? repoRoot,
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
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}
