/**
 * The scale benchmark's cluster: one native PostgreSQL 17 + pgvector cluster that outlives the run
 * (`detached`), so that tables of a million rows and their HNSW indexes are loaded and built once and reused
 * by every later run. Its data directory is recorded in the git-ignored `.native/bench-cluster.json`; a
 * later run attaches to it (`attachNativeServer`) and starts it again. Quick runs use a throwaway cluster.
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  attachNativeServer,
  NATIVE_DEFAULT_SETTINGS,
  type NativeServer,
  startNativeServer,
} from '../src/embedded/native-server.js';

/** Settings of the bench cluster (2 cores, 24 GiB): HNSW builds in memory, no JIT, no WAL for new tables. */
export const SCALE_SETTINGS: Readonly<Record<string, string>> = {
  ...NATIVE_DEFAULT_SETTINGS,
  shared_buffers: '6GB',
  maintenance_work_mem: '8GB',
  max_parallel_maintenance_workers: '2',
  work_mem: '64MB',
  effective_cache_size: '16GB',
  jit: 'off',
  // COPY into a table created in the same transaction writes no WAL.
  wal_level: 'minimal',
  max_wal_senders: '0',
  max_wal_size: '8GB',
  checkpoint_timeout: '30min',
};

const STATE_FILE = fileURLToPath(new URL('../.native/bench-cluster.json', import.meta.url));

/** The bench cluster, started (created on first use, reused afterwards). */
export async function openScaleCluster(log: (line: string) => void): Promise<NativeServer> {
  if (existsSync(STATE_FILE)) {
    const { dataDir } = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as { dataDir: string };
    if (existsSync(join(dataDir, 'PG_VERSION'))) {
      const server = attachNativeServer(dataDir);
      await server.start();
      log(`bench cluster: reused (port ${server.port})`);
      return server;
    }
  }
  const server = await startNativeServer({ detached: true, settings: SCALE_SETTINGS, onProgress: log });
  mkdirSync(dirname(STATE_FILE), { recursive: true });
  writeFileSync(STATE_FILE, `${JSON.stringify({ dataDir: server.dataDir, port: server.port })}\n`);
  log(`bench cluster: created (port ${server.port}); kept between runs`);
  return server;
}

/** A throwaway cluster with the same settings (quick runs): destroyed by `close`. */
export async function openThrowawayCluster(log: (line: string) => void): Promise<NativeServer> {
  return startNativeServer({
    settings: { ...SCALE_SETTINGS, shared_buffers: '1GB', maintenance_work_mem: '2GB' },
    onProgress: log,
  });
}
