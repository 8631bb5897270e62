-- pgvector: vector, halfvec, sparsevec and bit types, their operators and the HNSW / IVFFlat index methods.
-- Needs the extension's files on the server (Debian/Ubuntu: postgresql-NN-pgvector; managed services: enable
-- "vector" in the provider's extension settings). `prisma-pgvector doctor` explains a failure here.
CREATE EXTENSION IF NOT EXISTS vector;

