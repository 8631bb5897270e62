/**
 * `npm run bench`: bulk load, search overhead, recall, filtered search, index build and memory of the
 * vector store, on the embedded database (default), the project's native PostgreSQL (`--native`) or the
 * PostgreSQL of `DATABASE_URL`. Every comparison interleaves its contenders in one run and reports medians,
 * p99 and ratios. Results go to `bench/results/<date>-<mode>[-native|-url].json`; a full run on the embedded
 * or the native engine also renders docs/BENCHMARKS.md (with the latest full run of the other engine beside
 * it) and docs/bench-recall.svg.
 *
 *   npm run bench                         # full: 10,000 rows × 384 dims, 5,000 × 1536
 *   npm run bench -- --native             # the same on a throwaway native cluster it starts (root + debootstrap)
 *   npm run bench -- --quick              # smoke run, about a minute
 *   npm run bench -- --rows 20000         # both sizes; or --rows 384=20000,1536=8000
 *   npm run bench -- --only bulk,search   # some sections: bulk, build, search, recall, memory
 *   npm run bench -- --scale              # search at scale on the native bench cluster (bench/scale.ts)
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createVectorStore } from '../src/store/vector-store.js';
import { benchBulkLoad, toDoc } from './bulk-load.js';
import { Mixture, type Row } from './dataset.js';
import { openEngine, pgClient, prismaClient, resetTable, rssOf, runInfo } from './engine.js';
import { benchIndexBuild } from './index-build.js';
import { benchMemory } from './memory.js';
import { benchRecall } from './recall.js';
import { latestFullRun, renderReport, resultsFileName } from './report.js';
import { benchSearchOverhead } from './search-overhead.js';
import { collectGarbage, type Goal, printGoal } from './stats.js';

// `--scale`: the scale benchmark on the native bench cluster (bench/scale.ts), its own options.
if (process.argv.slice(2).includes('--scale')) {
  await (await import('./scale.js')).runScale(process.argv.slice(2));
  process.exit(process.exitCode ?? 0);
}

const SECTIONS = ['bulk', 'build', 'search', 'recall', 'memory'] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rows: { type: 'string' },
    only: { type: 'string' },
    'no-docs': { type: 'boolean', default: false },
    native: { type: 'boolean', default: false },
  },
});
const quick = values.quick === true;
const only = new Set<Section>(
  values.only === undefined ? SECTIONS : (values.only.split(',').map((s) => s.trim()) as Section[]),
);
for (const s of only)
  if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section '${s}' (${SECTIONS.join(', ')})`);

const rowsFor: Record<384 | 1536, number> = quick ? { 384: 1000, 1536: 500 } : { 384: 10_000, 1536: 5_000 };
if (values.rows !== undefined) {
  if (/^\d+$/.test(values.rows)) {
    rowsFor[384] = Number(values.rows);
    rowsFor[1536] = Number(values.rows);
  } else {
    for (const part of values.rows.split(',')) {
      const [d, n] = part.split('=');
      if ((d !== '384' && d !== '1536') || !/^\d+$/.test(n ?? ''))
        throw new Error(`--rows: cannot read '${part}'`);
      rowsFor[Number(d) as 384 | 1536] = Number(n);
    }
  }
}
const plan = {
  rowsFor,
  bulkRows: quick ? { 384: 500, 1536: 250 } : { 384: 4000, 1536: 2000 },
  bulkRounds: quick ? 2 : 8,
  buildRounds: quick ? 1 : 2,
  recallQueries: quick ? 20 : 100,
  recallRounds: quick ? 1 : 2,
  overheadQueries: quick ? 50 : 200,
  overheadRounds: quick ? 2 : 3,
  memorySizes: (quick ? [2000, 6000] : [10_000, 50_000]) as [number, number],
  memoryRounds: quick ? 1 : 2,
  mixture: { clusters: 50, spread: 0.5, seed: 42 },
};

const started = performance.now();
const log = (line: string) => console.log(line);
const engine = await openEngine(process.env.DATABASE_URL, values.native === true);
const client = await pgClient(engine.url);
await client.query('CREATE EXTENSION IF NOT EXISTS vector');
const app = prismaClient(engine.url, 8);
const prisma = app.prisma;
const info = await runInfo(engine, client);
log(`prisma-pgvector bench (${quick ? 'quick' : 'full'}) — ${info.date}`);
log(
  `machine: ${info.machine.cores} cores (${info.machine.cpu}), ${info.machine.memoryGiB} GiB (${info.machine.freeMemoryGiB} free), load ${info.machine.loadAverage.join(' ')}, ${info.machine.platform}, node ${info.machine.node}`,
);
log(
  `engine: ${info.engine.kind}; ${info.engine.server.split(',')[0]}; pgvector ${info.engine.pgvector}${info.engine.pglite === undefined ? '' : `; @electric-sql/pglite ${info.engine.pglite}, pglite-pgvector ${info.engine.pglitePgvector}`}`,
);
log(`plan: ${JSON.stringify(plan)}`);

const results: Record<string, unknown> = {};
const goals: Goal[] = [];
const section = (name: string) => log(`\n== ${name}`);
const keep = (key: string, value: object) => {
  results[key] = value;
  const own = (value as { goals?: Goal[] }).goals;
  if (own !== undefined) goals.push(...own);
};

try {
  for (const dims of [384, 1536] as const) {
    const mixture = new Mixture({ dims, ...plan.mixture });
    if (only.has('bulk')) {
      section(`bulk load, ${dims} dims, ${plan.bulkRows[dims]} rows per load, no vector index`);
      keep(
        `bulk${dims}`,
        await benchBulkLoad({
          client,
          prisma,
          pool: app.pool,
          settle: async () => {
            // The same server state for every contender: dirty pages written out, garbage collected.
            // (CHECKPOINT needs superuser or pg_checkpoint on a real server; without, it is skipped.)
            await client.query('CHECKPOINT').catch(() => undefined);
            await engine.collectGarbage();
            collectGarbage();
          },
          mixture,
          rows: plan.bulkRows[dims],
          rounds: plan.bulkRounds,
          log,
        }),
      );
    }
    const needsData = only.has('build') || only.has('recall') || (only.has('search') && dims === 1536);
    if (!needsData) continue;

    section(`dataset: ${rowsFor[dims]} rows × ${dims} dims through addMany`);
    const table = `bench_${dims}`;
    await resetTable(client, table, dims);
    const rows: Row[] = [...mixture.rows(rowsFor[dims])];
    const store = createVectorStore(prisma, {
      table,
      dimensions: dims,
      partialIndexPredicates: [],
      pool: app.pool,
    });
    const loadStart = performance.now();
    await store.addMany(rows.map(toDoc), { returnIds: false });
    const loadSeconds = (performance.now() - loadStart) / 1000;
    log(`    loaded in ${loadSeconds.toFixed(1)} s (${(rows.length / loadSeconds).toFixed(0)} rows/s)`);
    results[`dataset${dims}`] = { rows: rows.length, dims, ...plan.mixture, loadSeconds };

    section(`HNSW build, ${dims} dims, ${rows.length} rows`);
    keep(
      `build${dims}`,
      await benchIndexBuild({
        client,
        table,
        dims,
        rows: rows.length,
        rounds: only.has('build') ? plan.buildRounds : 1,
        embedded: engine.embedded,
        log,
      }),
    );
    await store.maintain();
    const queries = mixture.queries(Math.max(plan.recallQueries, plan.overheadQueries));

    if (only.has('search') && dims === 1536) {
      section(`search overhead, ${dims} dims, k = 10`);
      keep(
        `search${dims}`,
        await benchSearchOverhead({
          url: engine.url,
          prisma,
          pool: app.pool,
          table,
          dims,
          rows: rows.length,
          queries: queries.slice(0, plan.overheadQueries),
          rounds: plan.overheadRounds,
          embedded: engine.embedded,
          log,
        }),
      );
    }
    if (only.has('recall')) {
      section(`recall and filtered search, ${dims} dims`);
      keep(
        `recall${dims}`,
        await benchRecall({
          client,
          prisma,
          pool: app.pool,
          table,
          dims,
          rows,
          queries: queries.slice(0, plan.recallQueries),
          rounds: plan.recallRounds,
          log,
        }),
      );
    }
    await client.query(`DROP TABLE "${table}"`);
  }
  if (only.has('memory')) {
    for (const method of ['copy', 'insert'] as const) {
      section(
        `memory: addMany streaming from a generator (${method}), ${plan.memorySizes.join(' vs ')} rows × 1536 dims`,
      );
      keep(
        method === 'copy' ? 'memory1536' : 'memory1536Insert',
        await benchMemory({
          url: engine.url,
          client,
          dims: 1536,
          sizes: plan.memorySizes,
          rounds: plan.memoryRounds,
          method,
          log,
        }),
      );
    }
  }
  results.serverRssMiB = rssOf(engine.serverPid) / 2 ** 20;
} finally {
  await app.close();
  await client.end();
  await engine.close();
}

const totalSeconds = (performance.now() - started) / 1000;
const mode = quick ? 'quick' : values.only === undefined && values.rows === undefined ? 'full' : 'partial';
const report = { info, mode, plan, totalSeconds, goals, results };
section('goals');
for (const g of goals) printGoal(g);
log(
  `\n${goals.filter((g) => g.pass).length} PASS, ${goals.filter((g) => !g.pass).length} MISS; total ${(totalSeconds / 60).toFixed(1)} min`,
);

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const file = new URL(`./results/${resultsFileName(report)}`, import.meta.url);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
log(`results: ${file.pathname}`);
if (mode === 'full' && engine.kind !== 'url' && values['no-docs'] !== true) {
  // This run beside the latest full run of the other engine.
  const runs =
    engine.kind === 'native'
      ? { embedded: latestFullRun('embedded'), native: report }
      : { embedded: report, native: latestFullRun('native') };
  const { markdown, charts } = renderReport(runs);
  writeFileSync(new URL('../docs/BENCHMARKS.md', import.meta.url), markdown);
  for (const [name, svg] of Object.entries(charts))
    writeFileSync(new URL(`../docs/${name}`, import.meta.url), svg);
  log(
    `docs: docs/BENCHMARKS.md, ${Object.keys(charts)
      .map((name) => `docs/${name}`)
      .join(', ')}`,
  );
}
