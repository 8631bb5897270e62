/**
 * Check `index-size`: each vector index fits in `maintenance_work_mem` (or a rebuild spills its graph and
 * crawls) and the vector indexes fit in `shared_buffers` (or searches read pages from disk).
 */

import type { DoctorCheck, DoctorFinding } from './types.js';
import { isVectorIndex } from './types.js';
import { finding, formatBytes } from './util.js';

/** An index and its size, for {@link assessIndexSizes}. */
export interface SizedIndex {
  readonly label: string;
  /** Quoted, for the fix SQL. */
  readonly sql: string;
  readonly bytes: number;
}

const MB = 1024 * 1024;

function roundUpMb(bytes: number): number {
  return Math.max(1, Math.ceil((bytes * 1.25) / MB));
}

/**
 * The rule without a database: `warn` for an index larger than `maintenance_work_mem`, for one larger than
 * `shared_buffers`, and when all of them together exceed `shared_buffers`.
 *
 * ### Examples
 * ```ts
 * assessIndexSizes([{ label: 'public.i', sql: '"public"."i"', bytes: 3 * 2 ** 30 }], 64 * 2 ** 20, 128 * 2 ** 20);
 * // two warnings: REINDEX needs maintenance_work_mem ≥ 3840MB; the index does not fit in shared_buffers
 * ```
 */
export function assessIndexSizes(
  indexes: readonly SizedIndex[],
  maintenanceWorkMem: number,
  sharedBuffers: number,
): DoctorFinding[] {
  const findings: DoctorFinding[] = [];
  const settings = `maintenance_work_mem ${formatBytes(maintenanceWorkMem)}, shared_buffers ${formatBytes(sharedBuffers)}`;
  for (const index of indexes) {
    const problems: DoctorFinding[] = [];
    if (index.bytes > maintenanceWorkMem) {
      problems.push(
        finding(
          'warn',
          index.label,
          `${index.label} is ${formatBytes(index.bytes)}, more than maintenance_work_mem (${formatBytes(maintenanceWorkMem)}): a rebuild no longer holds the graph in memory ("hnsw graph no longer fits into maintenance_work_mem") and is many times slower`,
          `SET maintenance_work_mem = '${roundUpMb(index.bytes)}MB';  -- in the session that rebuilds, then:\nREINDEX INDEX CONCURRENTLY ${index.sql};`,
        ),
      );
    }
    if (index.bytes > sharedBuffers) {
      problems.push(
        finding(
          'warn',
          index.label,
          `${index.label} is ${formatBytes(index.bytes)}, more than shared_buffers (${formatBytes(sharedBuffers)}): searches read graph pages from the OS cache or disk, and latency suffers`,
          `raise shared_buffers to at least ${roundUpMb(index.bytes)}MB (postgresql.conf or the provider's parameter group; needs a restart), or shrink the index: a halfvec expression index is half the size`,
        ),
      );
    }
    findings.push(
      ...(problems.length > 0
        ? problems
        : [finding('pass', index.label, `${formatBytes(index.bytes)} (${settings})`)]),
    );
  }
  const total = indexes.reduce((sum, i) => sum + i.bytes, 0);
  if (indexes.length > 1 && total > sharedBuffers && indexes.every((i) => i.bytes <= sharedBuffers)) {
    findings.push(
      finding(
        'warn',
        'vector indexes',
        `the vector indexes total ${formatBytes(total)}, more than shared_buffers (${formatBytes(sharedBuffers)}): they evict each other from the cache`,
        `raise shared_buffers to at least ${roundUpMb(total)}MB (needs a restart), or drop unused vector indexes`,
      ),
    );
  }
  return findings;
}

/** The `index-size` check. */
export const indexSizeCheck: DoctorCheck = {
  id: 'index-size',
  title: 'vector index size vs memory settings',
  async run(context) {
    const indexes = context.indexes.filter(isVectorIndex);
    if (indexes.length === 0) return { findings: [], passMessage: 'no vector indexes in scope' };
    const { rows } = await context.client.query<{ mwm: string; sb: string }>(
      `SELECT pg_size_bytes(current_setting('maintenance_work_mem')) AS "mwm",
              pg_size_bytes(current_setting('shared_buffers')) AS "sb"`,
    );
    const mwm = Number(rows[0]?.mwm ?? 0);
    const sb = Number(rows[0]?.sb ?? 0);
    return { findings: assessIndexSizes(indexes, mwm, sb), passMessage: 'vector indexes fit in memory' };
  },
};
