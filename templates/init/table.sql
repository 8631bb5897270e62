-- CreateTable (model {{model}}, written by `prisma-pgvector init`; Prisma's own rendering of the model)
CREATE TABLE {{qtable}} (
    "id" {{idColumn}},
    {{qcontent}} TEXT NOT NULL,
    {{qmetadata}} JSONB,
    {{qembedding}} {{vectorColumn}},
    {{qcreatedAt}} TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT {{qpkey}} PRIMARY KEY ("id")
);
