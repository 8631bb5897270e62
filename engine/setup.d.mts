/** Absolute path of the offline schema engine bridge (`engine/schema-engine.mjs`). */
export declare const offlineSchemaEnginePath: string;
/** True when Prisma's native schema engine binary is already installed under @prisma/engines. */
export declare function nativeSchemaEngineInstalled(): boolean;
/**
 * Points `PRISMA_SCHEMA_ENGINE_BINARY` at the offline bridge unless a native engine is installed, the variable
 * is already set, or `PRISMA_PGVECTOR_SCHEMA_ENGINE=native`. Returns the engine the Prisma CLI will use.
 */
export declare function useOfflineSchemaEngine(env?: NodeJS.ProcessEnv): 'custom' | 'native' | 'wasm';
