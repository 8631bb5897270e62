import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type PrismaCliResult,
  runNode as runNodeProcess,
  runPrismaCli,
} from '../../src/schema/prisma-cli.js';

/** The repository root (prisma.config.ts lives there). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type { PrismaCliResult as CliResult } from '../../src/schema/prisma-cli.js';

/** Runs the real Prisma CLI as a user would (`npx prisma ...`), from the repository root by default. */
export function runPrisma(
  args: readonly string[],
  options: { databaseUrl: string; cwd?: string; env?: Record<string, string | undefined> },
): Promise<PrismaCliResult> {
  return runPrismaCli(args, { cwd: repoRoot, ...options });
}

/** Runs `node <args>` from the repository root (by default) with the environment plus `env`. */
export function runNode(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<PrismaCliResult> {
  return runNodeProcess(args, { cwd: repoRoot, ...options });
}
