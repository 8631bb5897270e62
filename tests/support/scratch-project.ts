import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './prisma-cli.js';

/**
 * A scratch copy of the project for tests that let the Prisma CLI (or our commands) write migrations or edit
 * schema.prisma: its own prisma/ folder and prisma.config.ts, node_modules and engine/ linked to the repo's.
 */
export function createScratchProject(prefix: string): { readonly dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(repoRoot, 'prisma'), join(dir, 'prisma'), { recursive: true });
  cpSync(join(repoRoot, 'prisma.config.ts'), join(dir, 'prisma.config.ts'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const link of ['node_modules', 'engine']) symlinkSync(join(repoRoot, link), join(dir, link));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
