import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runNode } from '../support/prisma-cli.js';

// The built package (`npm run build`, run by `pretest`) as apps load it: by its name, from an ES module and
// from a CommonJS module (NestJS apps usually compile to CommonJS).

const probe = `
  const root = await load('prisma-pgvector');
  const admin = await load('prisma-pgvector/admin');
  const embedded = await load('prisma-pgvector/embedded');
  const error = new root.PgVectorError('INVALID_VECTOR', 'x');
  const kinds = (door, names) => Object.fromEntries(names.map((n) => [n, typeof door[n]]));
  console.log(JSON.stringify({
    root: kinds(root, ['createVectorStore', 'PgVectorError', 'OpenAIEmbedder', 'HashingEmbedder', 'compileFilter',
      'encodeVectorBinary', 'planSearchTuning', 'translateDatabaseError', 'doctor', 'checkDrift', 'runPrismaCli']),
    admin: kinds(admin, ['doctor', 'checkDrift', 'createIndexMigration', 'buildIndex', 'indexDdl', 'adviseIndex',
      'maintain', 'tune', 'runPrismaCli', 'createVectorStore']),
    embedded: typeof embedded.startEmbeddedServer,
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
    const f = 'function';
    expect(JSON.parse(run.stdout)).toEqual({
      // The store's door: the store and its values; the tooling is not there.
      root: {
        createVectorStore: f,
        PgVectorError: f,
        OpenAIEmbedder: f,
        HashingEmbedder: f,
        compileFilter: f,
        encodeVectorBinary: f,
        planSearchTuning: f,
        translateDatabaseError: f,
        doctor: 'undefined',
        checkDrift: 'undefined',
        runPrismaCli: 'undefined',
      },
      // The tooling door: tooling only (the store comes from the main entry).
      admin: {
        doctor: f,
        checkDrift: f,
        createIndexMigration: f,
        buildIndex: f,
        indexDdl: f,
        adviseIndex: f,
        maintain: f,
        tune: f,
        runPrismaCli: f,
        createVectorStore: 'undefined',
      },
      embedded: f,
      code: 'INVALID_VECTOR',
      isError: true,
    });
  });

  it('declares no side effects and points every door at a file the build wrote', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      sideEffects: unknown;
      exports: Record<string, unknown>;
      files: string[];
    };
    expect(pkg.sideEffects).toBe(false);
    expect(Object.keys(pkg.exports)).toEqual(
      expect.arrayContaining(['.', './admin', './embedded', './schema-engine', './package.json']),
    );
    const targets = (value: unknown): string[] =>
      typeof value === 'string'
        ? [value]
        : Object.values(value as Record<string, unknown>).flatMap((v) => targets(v));
    const missing = Object.entries(pkg.exports).flatMap(([door, value]) =>
      targets(value)
        .filter((target) => !existsSync(join(repoRoot, target)))
        .map((target) => `${door}: ${target}`),
    );
    expect(missing).toEqual([]);
    // Every door's file ships in the tarball.
    const shipped = (target: string) => pkg.files.some((f) => target.replace(/^\.\//, '').startsWith(f));
    expect(
      Object.values(pkg.exports)
        .flatMap(targets)
        .filter((t) => t !== './package.json' && !shipped(t)),
    ).toEqual([]);
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
