-- Vector indexes are written by hand: Prisma cannot express HNSW. Each one is mirrored in schema.prisma as
-- @@index([embedding], map: "<name>") so that `prisma migrate dev` / `migrate diff` never drop it.

-- Approximate nearest-neighbour search by cosine distance (`ORDER BY embedding <=> $q LIMIT k`).
-- m / ef_construction are pgvector's defaults, spelled out so that they are reviewed, not inherited.
CREATE INDEX "documents_embedding_hnsw_idx" ON "documents"
    USING hnsw ("embedding" vector_cosine_ops) WITH (m = 16, ef_construction = 64);

-- Partial HNSW index for the most common filter: searches restricted to articles use this smaller graph,
-- so they return k rows without scanning past the non-article neighbours.
CREATE INDEX "documents_embedding_article_hnsw_idx" ON "documents"
    USING hnsw ("embedding" vector_cosine_ops) WITH (m = 16, ef_construction = 64)
    WHERE ((metadata ->> 'type') = 'article');

-- Metadata filters: containment (`metadata @> '{"type":"article"}'`) is served by this GIN index.
CREATE INDEX "documents_metadata_gin_idx" ON "documents" USING gin ("metadata" jsonb_path_ops);

-- Planner statistics for the filter the partial index serves: without them Postgres guesses 0.5% of rows for
-- any `metadata ->> 'type' = …` and may pick the wrong plan for filtered searches.
CREATE STATISTICS "documents_metadata_type_stats" ON ((metadata ->> 'type')) FROM "documents";
