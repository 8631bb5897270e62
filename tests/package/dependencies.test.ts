import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EMBEDDED_PACKAGES, installCommand, OPTIONAL_PACKAGES } from '../../src/core/optional-dependency.js';
import { repoRoot, runNode } from '../support/prisma-cli.js';

// The dependency layout an app lives with (README "Install size"): what the app owns is a peer with a range
// our own exact dev versions satisfy; what only some doors need is an optional peer; the rest is small.

interface PackageJson {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
}
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;

/** `version` satisfies `range` (`1.2.3` exactly, or `^1.2.3`: same major, not lower); other forms: false. */
function satisfies(version: string, range: string): boolean {
  const parse = (v: string) => v.split('-')[0]?.split('.').map(Number) ?? [];
  const caret = range.startsWith('^');
  const want = parse(caret ? range.slice(1) : range);
  const have = parse(version);
  if (!caret) return version === range;
  if (have[0] !== want[0]) return false;
  for (let i = 0; i < 3; i++) {
    if ((have[i] ?? 0) !== (want[i] ?? 0)) return (have[i] ?? 0) > (want[i] ?? 0);
  }
  return true;
}

const APP_OWNS = ['prisma', '@prisma/client', '@prisma/adapter-pg', 'pg'];

describe('package.json dependencies', () => {
  it('makes what the app owns a peer, with a range our exact dev version satisfies', () => {
    for (const name of APP_OWNS) {
      expect(pkg.dependencies[name], `${name} is not a regular dependency`).toBeUndefined();
      const range = pkg.peerDependencies[name];
      const dev = pkg.devDependencies[name];
      expect(range, `${name} peer range`).toMatch(/^\^\d+\.\d+\.\d+$/);
      expect(dev, `${name} dev version`).toMatch(/^\d+\.\d+\.\d+$/);
      expect(satisfies(dev as string, range as string), `${name}@${dev} in ${range}`).toBe(true);
    }
    // The CLI is for development: an app's production install need not carry it.
    expect(pkg.peerDependenciesMeta.prisma?.optional).toBe(true);
    for (const name of ['@prisma/client', '@prisma/adapter-pg', 'pg'])
      expect(pkg.peerDependenciesMeta[name]?.optional, name).toBeUndefined();
  });

  it('makes PGlite and its adapter optional peers at the versions the missing-package error names', () => {
    for (const [name, version] of Object.entries(OPTIONAL_PACKAGES)) {
      expect(pkg.dependencies[name], name).toBeUndefined();
      expect(pkg.peerDependencies[name], name).toBe(version);
      expect(pkg.peerDependenciesMeta[name]?.optional, name).toBe(true);
      expect(pkg.devDependencies[name], name).toBe(version);
    }
  });

  it('keeps the regular dependencies to the offline schema engine and the COPY path', () => {
    expect(Object.keys(pkg.dependencies).sort()).toEqual([
      '@prisma/driver-adapter-utils',
      '@prisma/schema-engine-wasm',
      'pg-copy-streams',
    ]);
    // The installed versions are the ones declared (npm ci installed the lock file).
    for (const [name, range] of Object.entries(pkg.dependencies)) {
      const installed = join(repoRoot, 'node_modules', name, 'package.json');
      const { version } = JSON.parse(readFileSync(installed, 'utf8')) as { version: string };
      expect(satisfies(version, range), `${name}@${version} in ${range}`).toBe(true);
    }
  });
});

describe('a missing optional package, through the built package', () => {
  // A directory with no node_modules above it: there, the optional packages really are not installed. A child
  // node process (no test runner's resolver in between) loads the built loadOptional and imports from there.
  const dir = mkdtempSync(join(tmpdir(), 'ppv-missing-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'needs-pglite.mjs'), "export * from '@electric-sql/pglite';\n");
  writeFileSync(join(dir, 'needs-socket.cjs'), "module.exports = require('@electric-sql/pglite-socket');\n");
  writeFileSync(join(dir, 'needs-other.mjs'), "export * from 'not-an-optional-package';\n");
  writeFileSync(join(dir, 'throws.mjs'), "throw new Error('boom');\n");

  async function tryLoad(format: 'esm' | 'cjs', file: string) {
    const built = join(repoRoot, 'dist', format, 'core', 'optional-dependency.js');
    const target = join(dir, file);
    // The CommonJS build's import() is tsc's require() in a promise: the same here.
    const load =
      format === 'esm'
        ? `() => import(${JSON.stringify(pathToFileURL(target).href)})`
        : `() => Promise.resolve().then(() => require(${JSON.stringify(target)}))`;
    const script = `
      const m = ${format === 'esm' ? `await import(${JSON.stringify(pathToFileURL(built).href)})` : `require(${JSON.stringify(built)})`};
      try { await m.loadOptional(m.EMBEDDED_PACKAGES, 'checkDrift', ${load}); console.log(JSON.stringify({ loaded: true })); }
      catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, cause: e.cause?.code })); }`;
    const run = await runNode(
      format === 'esm'
        ? ['--input-type=module', '-e', script]
        : ['--input-type=commonjs', '-e', `(async () => {${script}})()`],
    );
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as { name?: string; code?: string; message?: string; cause?: string };
  }

  it.each([
    ['esm', 'needs-pglite.mjs', '@electric-sql/pglite', 'ERR_MODULE_NOT_FOUND'],
    ['esm', 'needs-socket.cjs', '@electric-sql/pglite-socket', 'MODULE_NOT_FOUND'],
    ['cjs', 'needs-socket.cjs', '@electric-sql/pglite-socket', 'MODULE_NOT_FOUND'],
  ] as const)(
    '%s: %s becomes MISSING_DEPENDENCY naming %s and the versions',
    async (format, file, name, cause) => {
      const error = await tryLoad(format, file);
      expect(error).toMatchObject({ name: 'PgVectorError', code: 'MISSING_DEPENDENCY', cause });
      expect(error.message).toContain(
        `checkDrift needs the optional package ${name}, which is not installed.`,
      );
      expect(error.message).toContain(installCommand(EMBEDDED_PACKAGES));
      expect(error.message).toContain('@electric-sql/pglite@0.5.14');
    },
  );

  it('leaves other failures alone', async () => {
    expect(await tryLoad('esm', 'throws.mjs')).toMatchObject({ name: 'Error', message: 'boom' });
    // A missing package that is not one of those named is not reported as an optional one.
    expect(await tryLoad('esm', 'needs-other.mjs')).toMatchObject({
      name: 'Error',
      code: 'ERR_MODULE_NOT_FOUND',
    });
  });
});
