-- pgvector: vector, halfvec, sparsevec and bit types, their operators and the HNSW / IVFFlat index methods.
-- Needs the extension's files on the server (Debian/Ubuntu: postgresql-NN-pgvector; managed services: enable
-- "vector" in the provider's extension settings). `prisma-pgvector doctor` explains a failure here.
CREATE EXTENSION IF NOT EXISTS vector;

-- CreateTable
CREATE TABLE "documents" (
    "id" TEXT NOT NULL DEFAULT (gen_random_uuid())::text,
    "content" TEXT NOT NULL,
    "metadata" JSONB,
    "embedding" vector(1536),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "documents_pkey" PRIMARY KEY ("id")
);
