/**
 * `npm run demo`: the whole path on the embedded database, offline.
 *
 * 1. starts the embedded PostgreSQL 18 + pgvector (PGlite) over the wire, in a fresh `.data/demo` directory;
 * 2. applies prisma/migrations with the real `prisma migrate deploy`;
 * 3. embeds a few documents with the offline hashing embedder and inserts them through a Prisma Client;
 * 4. runs a similarity search (bare `ORDER BY embedding <=> $q LIMIT k`, so the HNSW index can serve it) and
 *    prints the results.
 */
import { rmSync } from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import { startEmbeddedServer } from '../src/embedded/server.js';
import { HashingEmbedder } from '../src/embedder.js';
import { PrismaClient } from '../src/generated/prisma/client.js';
import { runPrismaCli } from '../src/prisma-cli.js';
import { encodeVectorBinary } from '../src/vector.js';

const DATA_DIR = '.data/demo';
const DIMENSIONS = 1536;

const documents = [
  { content: 'HNSW indexes give fast approximate nearest-neighbour search in PostgreSQL', type: 'article' },
  { content: 'Tune hnsw.ef_search per query to trade latency for recall', type: 'article' },
  { content: 'Run VACUUM ANALYZE after bulk inserts so the planner sees the new rows', type: 'article' },
  { content: 'Grocery list: apples, bread, coffee beans', type: 'note' },
  { content: 'Call the plumber about the kitchen sink on Monday', type: 'note' },
  {
    content: 'Cosine distance is the pgvector <=> operator; similarity is one minus the distance',
    type: 'article',
  },
];

function step(message: string): void {
  console.log(`\n▸ ${message}`);
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
    console.log(
      deploy.stdout
        .split('\n')
        .filter((l) => /migration|└─|applied/i.test(l))
        .map((l) => `  ${l}`)
        .join('\n'),
    );

    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: server.url }) });
    try {
      const embedder = new HashingEmbedder({ dimensions: DIMENSIONS });
      step(`Embedding and inserting ${documents.length} documents`);
      const vectors = await embedder.embed(documents.map((d) => d.content));
      await prisma.$transaction(
        documents.map(
          (d, i) =>
            prisma.$executeRaw`
            INSERT INTO documents (content, metadata, embedding)
            VALUES (${d.content}, ${JSON.stringify({ type: d.type })}::jsonb, ${encodeVectorBinary(vectors[i]!)}::vector(1536))`,
        ),
      );
      await prisma.$executeRaw`ANALYZE documents`;

      const question = 'how do I make vector search in postgres fast?';
      step(`Searching: "${question}"`);
      const [q] = await embedder.embed([question]);
      const rows = await prisma.$queryRaw<{ content: string; type: string; distance: number }[]>`
        SELECT content, metadata ->> 'type' AS type, embedding <=> ${encodeVectorBinary(q!)}::vector(1536) AS distance
          FROM documents
         ORDER BY embedding <=> ${encodeVectorBinary(q!)}::vector(1536)
         LIMIT 3`;
      console.table(
        rows.map((r) => ({
          similarity: Number((1 - r.distance).toFixed(3)),
          type: r.type,
          content: r.content,
        })),
      );
    } finally {
      await prisma.$disconnect();
    }
  } finally {
    await server.stop();
  }
  console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
