/**
 * `npm run demo`: the whole path on the embedded database, offline, in well under a minute.
 *
 * 1. starts the embedded PostgreSQL 18 + pgvector (PGlite) over the wire, in a fresh `.data/demo` directory;
 * 2. applies prisma/migrations with the real `prisma migrate deploy`;
 * 3. ingests the bundled corpus (examples/corpus.jsonl, 2,400 short documents of four types) through the
 *    vector store, embedded offline by the hashing embedder — as the playbook says for a first bulk load:
 *    vector indexes dropped, rows loaded in batches, indexes rebuilt with the migration's own definitions,
 *    then VACUUM ANALYZE;
 * 4. prints a plain search and a filtered search (served by the partial HNSW index), with the plan of each;
 * 5. tunes hnsw.ef_search against exact search and persists it, then runs the doctor's checks.
 */
import { readFileSync, rmSync } from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { doctor, formatDoctorReport, formatTuneResult, tune } from '../src/admin.js';
import { startEmbeddedServer } from '../src/embedded/server.js';
import { PrismaClient } from '../src/generated/prisma/client.js';
import { createVectorStore, HashingEmbedder, type SearchPlan } from '../src/index.js';
import { runPrismaCli } from '../src/schema/prisma-cli.js';

const DATA_DIR = '.data/demo';
const CORPUS = new URL('./corpus.jsonl', import.meta.url);
const CHUNK = 200;

type Meta = { type: 'article' | 'note' | 'faq' | 'changelog'; topic: string; lang: string; n: number };

const step = (message: string) => console.log(`\n▸ ${message}`);

function progress(done: number, total: number, started: number): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const rate = done / ((performance.now() - started) / 1000);
  process.stdout.write(
    `\r  [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${total} documents  ${rate.toFixed(0)} docs/s`,
  );
  if (done === total) process.stdout.write('\n');
}

function printPlan(plan: SearchPlan): void {
  console.log(`  plan (indexes used: ${plan.indexes.join(', ') || 'none'}):`);
  for (const line of plan.plan) console.log(`    ${line.length > 110 ? `${line.slice(0, 107)}...` : line}`);
}

async function main(): Promise<void> {
  const started = performance.now();
  step(`Starting the embedded PostgreSQL + pgvector (fresh data directory ${DATA_DIR})`);
  rmSync(DATA_DIR, { recursive: true, force: true });
  const server = await startEmbeddedServer({ dataDir: DATA_DIR, port: 0 });
  console.log(`  DATABASE_URL=${server.url}`);
  try {
    step('Applying migrations with `prisma migrate deploy`');
    const deploy = await runPrismaCli(['migrate', 'deploy'], { databaseUrl: server.url });
    if (deploy.code !== 0) throw new Error(`prisma migrate deploy failed:\n${deploy.stdout}${deploy.stderr}`);
    for (const line of deploy.stdout.split('\n').filter((l) => /└─ \d|applied/.test(l)))
      console.log(`  ${line.trim()}`);

    // The app's wiring: one pg.Pool for Prisma's adapter and for the store's COPY loads and searches.
    const pool = new pg.Pool({ connectionString: server.url });
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
    try {
      const embedder = new HashingEmbedder({ dimensions: 1536 });
      const store = createVectorStore<Meta>(prisma, { embedder, pool });
      const corpus = readFileSync(CORPUS, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { content: string; metadata: Meta });

      step(`Ingesting ${corpus.length} documents (${CHUNK} per transaction, binary COPY through the pool)`);
      // First load into an empty table: build the HNSW graphs once, after the data, instead of row by row.
      const indexes = await prisma.$queryRaw<{ name: string; definition: string }[]>`
        SELECT indexname AS name, indexdef AS definition FROM pg_indexes
         WHERE tablename = 'documents' AND indexdef LIKE '%USING hnsw%'`;
      for (const { name } of indexes)
        await prisma.$executeRawUnsafe(`DROP INDEX "${name.replaceAll('"', '""')}"`);
      const loadStarted = performance.now();
      const methods = new Set<string>();
      for (let i = 0; i < corpus.length; i += CHUNK) {
        methods.add((await store.addTexts(corpus.slice(i, i + CHUNK))).method);
        progress(Math.min(i + CHUNK, corpus.length), corpus.length, loadStarted);
      }
      console.log(`  loaded with: ${[...methods].join(', ')}`);
      const buildStarted = performance.now();
      // The definitions come from the catalogue (the migration's own DDL), not from user input.
      for (const { definition } of indexes) await prisma.$executeRawUnsafe(definition);
      console.log(
        `  rebuilt ${indexes.map((x) => x.name).join(', ')} in ${((performance.now() - buildStarted) / 1000).toFixed(1)} s`,
      );
      const maintenance = await store.maintain();
      console.log(`  ${maintenance.statement} (${maintenance.durationMs.toFixed(0)} ms)`);

      const question = 'How do ef_search and iterative scans interact?';
      step(`Search: "${question}"`);
      const plain = await store.searchText(question, { k: 5 });
      console.table(
        plain.results.map((r) => ({
          similarity: Number(r.similarity.toFixed(3)),
          type: r.metadata?.type,
          content: r.content.length > 80 ? `${r.content.slice(0, 77)}...` : r.content,
        })),
      );
      const queryVector = (await embedder.embed([question]))[0]!;
      printPlan(await store.explainSearch(queryVector, { k: 5 }));

      step(`Filtered search, articles only: { type: 'article' }`);
      const filtered = await store.searchText(question, { k: 5, filter: { type: 'article' } });
      console.table(
        filtered.results.map((r) => ({
          similarity: Number(r.similarity.toFixed(3)),
          type: r.metadata?.type,
          content: r.content.length > 80 ? `${r.content.slice(0, 77)}...` : r.content,
        })),
      );
      printPlan(await store.explainSearch(queryVector, { k: 5, filter: { type: 'article' } }));
    } finally {
      await prisma.$disconnect();
      await pool.end();
    }

    step('Tuning hnsw.ef_search against exact search (recall@10 ≥ 0.95), persisted for the database');
    const tuned = await tune(server.url, { table: 'documents', k: 10, sample: 30, persist: 'database' });
    console.log(formatTuneResult(tuned).replace(/^/gm, '  '));

    step('Doctor: the playbook red lines, checked on the live database');
    const report = await doctor(server.url, {
      k: 10,
      largeTableRows: 1000,
      commonFilters: [{ table: 'documents', predicate: "metadata ->> 'type' = 'article'" }],
    });
    console.log(formatDoctorReport(report).replace(/^/gm, '  '));
  } finally {
    await server.stop();
  }
  console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
