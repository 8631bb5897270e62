import { expect } from 'vitest';
import { postJson } from './app-fixture.js';

/**
 * What both app tests ask of a running app, over HTTP: add documents (texts the store embeds, and
 * documents with their own embeddings), search, filtered search, and bad requests answered with 400 and
 * the library's error code. `documents` and `search` are the apps' route URLs.
 */
export async function exerciseVectorApi(routes: { readonly documents: string; readonly search: string }) {
  const texts = [
    {
      content: 'HNSW indexes make vector search fast in PostgreSQL',
      metadata: { type: 'article', lang: 'en' },
    },
    {
      content: 'Partial indexes serve filtered similarity queries',
      metadata: { type: 'article', lang: 'en' },
    },
    { content: 'Buy milk, eggs and bread on the way home', metadata: { type: 'note', lang: 'en' } },
    { content: 'Call the plumber about the kitchen sink', metadata: { type: 'note', lang: 'en' } },
    { content: 'Die Katze schläft auf dem warmen Sofa', metadata: { type: 'note', lang: 'de' } },
  ];
  const added = await postJson(routes.documents, { documents: texts });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
  const addedBody = added.body as { ids: string[]; inserted: number; method: string };
  expect(addedBody.inserted).toBe(texts.length);
  expect(addedBody.ids).toHaveLength(texts.length);
  expect(new Set(addedBody.ids).size).toBe(texts.length);

  // Documents that bring their own embedding: one-hot vectors, so that a search with the same vector finds
  // exactly that document first (distance 0).
  const oneHot = (i: number) => Array.from({ length: 1536 }, (_, j) => (j === i ? 1 : 0));
  const withVectors = [0, 1].map((i) => ({
    id: `vec-${i}`,
    content: `document with vector ${i}`,
    metadata: { type: 'article', lang: 'xx' },
    embedding: oneHot(i),
  }));
  const addedVectors = await postJson(routes.documents, { documents: withVectors });
  expect(addedVectors.status, JSON.stringify(addedVectors.body)).toBe(201);
  expect((addedVectors.body as { ids: string[] }).ids).toEqual(['vec-0', 'vec-1']);

  type Hit = {
    id: string;
    content: string;
    metadata: { type: string };
    similarity: number;
    createdAt: string;
  };
  const search = await postJson(routes.search, { query: texts[2]!.content, k: 3 });
  expect(search.status, JSON.stringify(search.body)).toBe(200);
  const hits = (search.body as { results: Hit[] }).results;
  expect(hits).toHaveLength(3);
  expect(hits[0]!.id).toBe(addedBody.ids[2]);
  expect(hits[0]!.content).toBe(texts[2]!.content);
  expect(hits[0]!.similarity).toBeGreaterThan(0.99);
  expect(Number.isNaN(Date.parse(hits[0]!.createdAt))).toBe(false);
  for (let i = 1; i < hits.length; i++)
    expect(hits[i]!.similarity).toBeLessThanOrEqual(hits[i - 1]!.similarity);

  const byVector = await postJson(routes.search, { embedding: oneHot(1), k: 1 });
  expect(byVector.status, JSON.stringify(byVector.body)).toBe(200);
  expect((byVector.body as { results: Hit[] }).results.map((h) => h.id)).toEqual(['vec-1']);

  // Filtered: only notes, all of them (3), best first; the article-only partial index on the other side.
  const notes = await postJson(routes.search, { query: 'kitchen plumber', k: 10, filter: { type: 'note' } });
  expect(notes.status, JSON.stringify(notes.body)).toBe(200);
  const noteHits = (notes.body as { results: Hit[] }).results;
  expect(noteHits.map((h) => h.metadata.type)).toEqual(['note', 'note', 'note']);
  expect(noteHits[0]!.id).toBe(addedBody.ids[3]);
  const articles = await postJson(routes.search, {
    query: 'vector search',
    k: 10,
    filter: { type: 'article', lang: { in: ['en'] } },
  });
  expect(articles.status, JSON.stringify(articles.body)).toBe(200);
  expect((articles.body as { results: Hit[] }).results.map((h) => h.id).sort()).toEqual(
    [addedBody.ids[0], addedBody.ids[1]].sort(),
  );

  // Bad requests: 400 with the library's code and message, no stack.
  const bad = async (body: unknown, code: string) => {
    const answer = await postJson(routes.search, body);
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    const error = (answer.body as { error: { code: string; message: string } }).error;
    expect(error.code).toBe(code);
    expect(error.message).not.toMatch(/\n\s+at /);
    return error.message;
  };
  expect(await bad({ query: 'x', k: 0 }, 'INVALID_ARGUMENT')).toMatch(/"k"/);
  expect(await bad({ embedding: [1, 2, 3] }, 'DIMENSION_MISMATCH')).toMatch(/1536/);
  await bad({ query: 'x', filter: { type: { $regex: '.*' } } }, 'INVALID_FILTER');
  await bad({ query: 'x', limit: 5 }, 'INVALID_ARGUMENT');
  const badDoc = await postJson(routes.documents, { documents: [{ content: 'ok' }, { content: 42 }] });
  expect(badDoc.status).toBe(400);
  expect(JSON.stringify(badDoc.body)).toContain('documents[1].content');

  // Nothing of the refused requests was written: the filtered search still sees 3 notes and 4 articles.
  const all = await postJson(routes.search, { query: 'anything', k: 50 });
  expect((all.body as { results: Hit[] }).results).toHaveLength(texts.length + withVectors.length);
  return { added: addedBody };
}

/**
 * A failure on the server's side: the documents table renamed away under the running app, then a search.
 * The answer is a 500 with the library's code and a fixed message (no SQL, no table name, no stack), and the
 * table is put back.
 */
export async function exerciseServerFailure(
  searchUrl: string,
  sql: (statement: string) => Promise<unknown>,
): Promise<{ readonly code: string }> {
  await sql('ALTER TABLE "documents" RENAME TO "documents_gone"');
  try {
    const answer = await postJson(searchUrl, { query: 'anything', k: 3 });
    expect(answer.status, JSON.stringify(answer.body)).toBe(500);
    const text = JSON.stringify(answer.body);
    expect(text).not.toMatch(/documents|relation|SELECT|\bat\b/);
    const error = (answer.body as { error: { code: string; message: string } }).error;
    expect(error.code).toMatch(/^[A-Z_]+$/);
    return { code: error.code };
  } finally {
    await sql('ALTER TABLE "documents_gone" RENAME TO "documents"');
  }
}
