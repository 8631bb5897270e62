-- AlterTable (model {{model}}, written by `prisma-pgvector init`)
{{statements}}
