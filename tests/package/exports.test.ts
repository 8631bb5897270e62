import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runNode } from '../support/prisma-cli.js';

// The built package (`npm run build`, run by `pretest`) as apps load it: by its name, from an ES module and
// from a CommonJS module (NestJS apps usually compile to CommonJS).

const probe = `
  const root = await load('prisma-pgvector');
  const embedded = await load('prisma-pgvector/embedded');
  const error = new root.PgVectorError('INVALID_VECTOR', 'x');
  console.log(JSON.stringify({
    root: typeof root.PgVectorError, embedded: typeof embedded.startEmbeddedServer,
    code: error.code, isError: error instanceof Error,
  }));
`;

describe('built package', () => {
  it('has been built', () => {
    expect(existsSync(join(repoRoot, 'dist', 'esm', 'index.js')), 'run `npm run build`').toBe(true);
    expect(existsSync(join(repoRoot, 'dist', 'cjs', 'index.js')), 'run `npm run build`').toBe(true);
    expect(existsSync(join(repoRoot, 'dist', 'esm', 'index.d.ts'))).toBe(true);
  });

  it.each([
    ['ESM', ['--input-type=module', '-e', `const load = (m) => import(m);\n${probe}`]],
    [
      'CommonJS',
      ['--input-type=commonjs', '-e', `const load = async (m) => require(m);\n(async () => {${probe}})()`],
    ],
  ])('loads from %s', async (_kind, args) => {
    const run = await runNode(args);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      root: 'function',
      embedded: 'function',
      code: 'INVALID_VECTOR',
      isError: true,
    });
  });

  it('resolves the CommonJS build for require and the ESM build for import', async () => {
    const run = await runNode([
      '--input-type=commonjs',
      '-e',
      "console.log(require.resolve('prisma-pgvector')); import('prisma-pgvector').then(() => console.log('ok'))",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(join('dist', 'cjs', 'index.js'));
    expect(run.stdout).toContain('ok');
  });
});
