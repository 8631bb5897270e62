// The embedded server's defaults, apart from the server itself so that the CLI can print them in its help
// without loading PGlite (an optional peer dependency).

/**
 * Port of `prisma-pgvector db` and of `startEmbeddedServer` when none is given.
 *
 * ### Examples
 * ```ts
 * `postgresql://postgres:postgres@127.0.0.1:${DEFAULT_EMBEDDED_PORT}/postgres`
 * ```
 */
export const DEFAULT_EMBEDDED_PORT = 54320;

/**
 * Default for `EmbeddedServerOptions.maxConnections`: room for the Prisma CLI (a pool of 10 plus one
 * for the shadow database), a Prisma Client pool of 10 in a running app, psql and a few scripts.
 *
 * ### Examples
 * ```ts
 * await startEmbeddedServer({ maxConnections: DEFAULT_MAX_CONNECTIONS * 2 });
 * ```
 */
export const DEFAULT_MAX_CONNECTIONS = 32;
