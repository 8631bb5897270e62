import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot, runNode } from '../support/prisma-cli.js';

/**
 * A Prisma 7 app project in a temp folder, as `prisma init` leaves one: package.json, prisma.config.ts and a
 * schema with only the datasource and the generator (plus `files`; `null` leaves a file out). Its node_modules holds links to the
 * repository's packages and `prisma-pgvector` itself (the repository), so that `prisma.config.ts` can import
 * `prisma-pgvector/schema-engine` as an app does.
 */
export function createAppProject(
  prefix: string,
  files: Readonly<Record<string, string | null>> = {},
): { readonly dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  for (const entry of readdirSync(join(repoRoot, 'node_modules'))) {
    symlinkSync(join(repoRoot, 'node_modules', entry), join(modules, entry));
  }
  symlinkSync(repoRoot, join(modules, 'prisma-pgvector'));
  const all: Record<string, string | null> = {
    'package.json': '{ "name": "app", "private": true, "type": "module" }\n',
    'prisma.config.ts': APP_CONFIG,
    'prisma/schema.prisma': APP_SCHEMA,
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    if (text === null) continue; // left out
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The prisma.config.ts of a fresh Prisma 7 app (no offline engine yet). */
export const APP_CONFIG = `import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? '' },
});
`;

/** The schema `prisma init` writes: datasource and generator only. */
export const APP_SCHEMA = `generator client {
  provider = "prisma-client"
  output   = "../src/generated/prisma"
}

datasource db {
  provider = "postgresql"
}
`;

const cli = join(repoRoot, 'src', 'cli', 'index.ts');

/** `prisma-pgvector <args>` in the project, as a user runs it. */
export function runCli(dir: string, args: readonly string[], env: Record<string, string | undefined> = {}) {
  return runNode(['--import', 'tsx', cli, ...args], { cwd: dir, env, timeoutMs: 180_000 });
}

/** Every file of the project (not node_modules) with its content, to prove that nothing changed. */
export function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix === '' ? d.name : `${prefix}/${d.name}`;
    if (path === 'node_modules') continue;
    if (d.isDirectory()) Object.assign(out, snapshot(dir, path));
    else out[path] = readFileSync(join(dir, path), 'utf8');
  }
  return out;
}
