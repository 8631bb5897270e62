import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, runNode } from '../support/prisma-cli.js';

// What importing a door of the BUILT package (`npm run build`, run by `pretest`) loads, by its name, from an
// ES module and from a CommonJS module. A child process records every module it resolves: ESM resolutions
// through a `module.register` resolve hook, CommonJS ones (and `require(esm)`) through the CommonJS
// resolver, each written to a log file before the module loads. The RSS growth of the import is reported.

/** What importing a door must not load; `allowed` lists the entries a door holds by design. */
const HEAVY: readonly [string, RegExp][] = [
  ['PGlite', /\/node_modules\/@electric-sql\/pglite/],
  ['the WASM schema engine', /\/node_modules\/@prisma\/schema-engine-wasm\//],
  ['the offline schema engine bridge', /\/engine\/schema-engine\.mjs$/],
  ['pglite-prisma-adapter', /\/node_modules\/pglite-prisma-adapter\//],
  ['the Prisma CLI', /\/node_modules\/prisma\//],
  ['pg-copy-streams', /\/node_modules\/pg-copy-streams\//],
  [
    'the embedded database',
    /\/dist\/(?:esm|cjs)\/embedded\/(?:pglite|server|prisma-client|backend-guard)\.js$/,
  ],
  ['the embedded door', /\/dist\/(?:esm|cjs)\/embedded\//],
  ['the Prisma CLI runner', /\/dist\/(?:esm|cjs)\/schema\/prisma-cli\.js$/],
];
const DOORS: readonly [door: string, allowed: readonly string[]][] = [
  ['prisma-pgvector', []],
  ['prisma-pgvector/admin', ['the Prisma CLI runner']],
  // Its light parts (data directory defaults, wire limits); PGlite only when a function is called.
  ['prisma-pgvector/embedded', ['the embedded door']],
  // The framework doors sit on the main one.
  ['prisma-pgvector/next', []],
  ['prisma-pgvector/nest', []],
];

const dir = mkdtempSync(join(tmpdir(), 'ppv-import-graph-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hooks = join(dir, 'hooks.mjs');
writeFileSync(
  hooks,
  `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(log, resolved.url + '\\n');
  return resolved;
}
`,
);
const recorder = join(dir, 'record.mjs');
writeFileSync(
  recorder,
  `import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';
const log = process.env.PPV_IMPORT_LOG;
register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { log } });
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (...args) {
  const resolved = resolveFilename.apply(this, args);
  appendFileSync(log, resolved + '\\n');
  return resolved;
};
`,
);

interface ImportFacts {
  readonly modules: readonly string[];
  readonly rssBytes: number;
}

let runs = 0;
async function importFacts(door: string, format: 'ESM' | 'CommonJS'): Promise<ImportFacts> {
  const log = join(dir, `log-${++runs}.txt`);
  writeFileSync(log, '');
  const measure = (load: string) => `
    globalThis.gc(); const before = process.memoryUsage().rss;
    ${load};
    globalThis.gc(); const after = process.memoryUsage().rss;
    console.log(JSON.stringify({ rssBytes: after - before }));`;
  const args =
    format === 'ESM'
      ? ['--input-type=module', '-e', measure(`await import(${JSON.stringify(door)})`)]
      : ['--input-type=commonjs', '-e', measure(`require(${JSON.stringify(door)})`)];
  const run = await runNode(['--expose-gc', '--import', pathToFileURL(recorder).href, ...args], {
    env: { PPV_IMPORT_LOG: log },
  });
  expect(run.code, run.stderr).toBe(0);
  const { rssBytes } = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { rssBytes: number };
  const modules = readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((m) => (m.startsWith('file:') ? new URL(m).pathname : m).replaceAll('\\', '/'));
  return { modules: [...new Set(modules)], rssBytes };
}

function heavyIn(modules: readonly string[], allowed: readonly string[] = []): string[] {
  const never = HEAVY.filter(([what]) => !allowed.includes(what));
  return modules.flatMap((m) =>
    never.filter(([, pattern]) => pattern.test(m)).map(([what]) => `${what}: ${m}`),
  );
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

describe.each(['ESM', 'CommonJS'] as const)('importing the built package from %s', (format) => {
  it.each(DOORS)(
    '%s loads no PGlite, no schema engine, no Prisma CLI, no pg-copy-streams',
    async (door, allowed) => {
      const facts = await importFacts(door, format);
      console.log(`${format} import('${door}'): ${facts.modules.length} modules, RSS +${mb(facts.rssBytes)}`);
      // The door itself was seen: the recorder works for this format.
      const built = format === 'ESM' ? '/dist/esm/' : '/dist/cjs/';
      expect(facts.modules.some((m) => m.includes(built))).toBe(true);
      if (door !== 'prisma-pgvector/embedded')
        expect(facts.modules.some((m) => m.includes('/node_modules/pg/'))).toBe(true);
      expect(heavyIn(facts.modules, allowed)).toEqual([]);
    },
  );

  it('the recorder sees PGlite when a built module imports it statically (the embedded server)', async () => {
    const server = join(repoRoot, 'dist', format === 'ESM' ? 'esm' : 'cjs', 'embedded', 'server.js');
    const facts = await importFacts(format === 'ESM' ? pathToFileURL(server).href : server, format);
    console.log(
      `${format} import(dist/…/embedded/server.js): ${facts.modules.length} modules, RSS +${mb(facts.rssBytes)}`,
    );
    const heavy = heavyIn(facts.modules);
    expect(heavy.some((h) => h.startsWith('PGlite: '))).toBe(true);
    expect(heavy.some((h) => h.startsWith('the embedded database: '))).toBe(true);
  });
});
