// @ts-check
/**
 * Decides which schema engine the Prisma CLI uses; called from prisma.config.ts before the CLI needs one.
 *
 * - `PRISMA_SCHEMA_ENGINE_BINARY` already set: left alone (yours wins).
 * - `PRISMA_PGVECTOR_SCHEMA_ENGINE=native`: left alone, Prisma downloads/uses its native engine.
 * - `PRISMA_PGVECTOR_SCHEMA_ENGINE=wasm`: our bridge to Prisma's WASM engine, always.
 * - otherwise (`auto`): the native engine when it is already installed under @prisma/engines, else the bridge.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of the bridge executable. */
export const offlineSchemaEnginePath = join(dirname(fileURLToPath(import.meta.url)), 'schema-engine.mjs');

/** True when a native schema engine binary is already on disk (downloaded by @prisma/engines' postinstall). */
export function nativeSchemaEngineInstalled() {
  try {
    const require = createRequire(import.meta.url);
    const enginesDir = dirname(require.resolve('@prisma/engines/package.json'));
    return readdirSync(enginesDir).some((f) => f.startsWith('schema-engine-'));
  } catch {
    return false;
  }
}

/**
 * Points `PRISMA_SCHEMA_ENGINE_BINARY` at the offline bridge when Prisma's native engine is not available.
 * Returns which engine the CLI will use.
 * @returns {'custom' | 'native' | 'wasm'}
 */
export function useOfflineSchemaEngine(env = process.env) {
  if (env.PRISMA_SCHEMA_ENGINE_BINARY && env.PRISMA_SCHEMA_ENGINE_BINARY !== offlineSchemaEnginePath)
    return 'custom';
  const mode = env.PRISMA_PGVECTOR_SCHEMA_ENGINE ?? 'auto';
  if (!['auto', 'native', 'wasm'].includes(mode)) {
    throw new Error(`PRISMA_PGVECTOR_SCHEMA_ENGINE must be auto, native or wasm (got "${mode}").`);
  }
  if (mode === 'native' || (mode === 'auto' && nativeSchemaEngineInstalled())) return 'native';
  if (!existsSync(offlineSchemaEnginePath))
    throw new Error(`offline schema engine missing: ${offlineSchemaEnginePath}`);
  env.PRISMA_SCHEMA_ENGINE_BINARY = offlineSchemaEnginePath;
  return 'wasm';
}
