// Needs the generated client (git-ignored), which `npm ci` / `npm run generate` produce.
import { expect, it } from 'vitest';
import { createEmbeddedPrismaClient } from '../../src/embedded/prisma-client.js';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { applyMigrations } from '../integration/helpers.js';
import { describeOnly } from '../support/engines.js';

const ENGINE_ONLY = 'tests the embedded PGlite engine itself';

describeOnly('embedded', ENGINE_ONLY, 'createEmbeddedPrismaClient', () => {
  it('runs a generated PrismaClient on an in-memory PGlite with pgvector', { timeout: 30_000 }, async () => {
    const { prisma, database, close } = await createEmbeddedPrismaClient(PrismaClient, { memory: true });
    try {
      expect(database.dataDir).toBeUndefined();
      // The schema's documents table and indexes, as the migrations create them.
      await applyMigrations(database.pglite);

      const document = await prisma.document.create({
        data: { content: 'hello', metadata: { type: 'article' } },
      });
      const embedding = `[${Array.from({ length: 1536 }, (_, i) => (i % 7) / 7).join(',')}]`;
      expect(
        await prisma.$executeRaw`UPDATE documents SET embedding = ${embedding}::vector WHERE id = ${document.id}`,
      ).toBe(1);
      const hits = await prisma.$queryRaw<{ id: string; similarity: number }[]>`
        SELECT id, 1 - (embedding <=> ${embedding}::vector) AS similarity
        FROM documents ORDER BY embedding <=> ${embedding}::vector LIMIT 1`;
      expect(hits).toHaveLength(1);
      expect(hits[0]?.id).toBe(document.id);
      expect(hits[0]?.similarity).toBeCloseTo(1, 6);
      expect(
        await prisma.document.count({ where: { metadata: { path: ['type'], equals: 'article' } } }),
      ).toBe(1);
    } finally {
      await close();
      await close();
    }
    expect(database.closed).toBe(true);
  });
});
