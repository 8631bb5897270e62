/** Check `extension`: pgvector available on the server, installed in the database, and recent enough. */

import { pgvectorAdvice } from './pgvector-advice.js';
import type { DoctorCheck, DoctorFinding, ExtensionInfo } from './types.js';
import { compareVersions, finding } from './util.js';

/** First pgvector version with HNSW indexes: below it the store cannot work as designed. */
export const MIN_PGVECTOR_VERSION = '0.5.0';
/** First pgvector version with iterative index scans (filtered searches that still return k rows). */
export const ITERATIVE_SCAN_VERSION = '0.8.0';

/** The advice texts the extension check needs (from `engine/pgvector-hints.mjs`). */
export interface ExtensionAdvice {
  readonly installSteps: string;
  readonly permission: string;
}

function upgradeFix(info: ExtensionInfo, wanted: string): string {
  if (info.defaultVersion !== undefined && compareVersions(info.defaultVersion, wanted) >= 0) {
    return `ALTER EXTENSION vector UPDATE;  -- the server has ${info.defaultVersion}`;
  }
  return `upgrade the pgvector package on the server to ${wanted} or later (the server only has ${info.defaultVersion ?? 'an older one'}), then run ALTER EXTENSION vector UPDATE;`;
}

/**
 * The extension rule, without a database: fail when pgvector is not on the server, not installed in the
 * database or older than 0.5 (no HNSW); warn below 0.8 (no iterative scans).
 *
 * ### Examples
 * ```ts
 * assessExtension({ available: true, defaultVersion: '0.8.7', installedVersion: '0.7.4' }, advice);
 * // [{ status: 'warn', object: 'vector', message: 'pgvector 0.7.4 is installed: … iterative …', fix: 'ALTER EXTENSION vector UPDATE; …' }]
 * ```
 */
export function assessExtension(info: ExtensionInfo, advice: ExtensionAdvice): DoctorFinding[] {
  if (!info.available && info.installedVersion === undefined) {
    return [
      finding(
        'fail',
        'vector',
        'pgvector is not installed on this PostgreSQL server: no "vector" in pg_available_extensions, so CREATE EXTENSION vector fails',
        `Install pgvector on the server:\n${advice.installSteps}\nthen run CREATE EXTENSION vector; in this database (the first migration does it: npx prisma migrate deploy)`,
      ),
    ];
  }
  const installed = info.installedVersion;
  if (installed === undefined) {
    return [
      finding(
        'fail',
        'vector',
        `pgvector ${info.defaultVersion ?? ''} is available on the server but not installed in this database`.replace(
          '  ',
          ' ',
        ),
        `CREATE EXTENSION IF NOT EXISTS vector;  -- or run the migrations: npx prisma migrate deploy\n-- if this user may not create it: ${advice.permission.replaceAll('\n', ' ')}`,
      ),
    ];
  }
  if (compareVersions(installed, MIN_PGVECTOR_VERSION) < 0) {
    return [
      finding(
        'fail',
        'vector',
        `pgvector ${installed} is installed: HNSW indexes need ${MIN_PGVECTOR_VERSION} or later`,
        upgradeFix(info, ITERATIVE_SCAN_VERSION),
      ),
    ];
  }
  if (compareVersions(installed, ITERATIVE_SCAN_VERSION) < 0) {
    return [
      finding(
        'warn',
        'vector',
        `pgvector ${installed} is installed: iterative index scans need ${ITERATIVE_SCAN_VERSION}, so filtered searches can return fewer than k rows (the store falls back to a larger ef_search / probes)`,
        upgradeFix(info, ITERATIVE_SCAN_VERSION),
      ),
    ];
  }
  const newer =
    info.defaultVersion !== undefined && compareVersions(info.defaultVersion, installed) > 0
      ? ` (${info.defaultVersion} is on the server: ALTER EXTENSION vector UPDATE)`
      : '';
  return [finding('pass', 'vector', `pgvector ${installed} is installed${newer}`)];
}

/** The `extension` check. */
export const extensionCheck: DoctorCheck = {
  id: 'extension',
  title: 'pgvector installed and recent',
  async run(context) {
    const info = context.extension;
    const needsAdvice = info.installedVersion === undefined;
    const advice: ExtensionAdvice = needsAdvice
      ? await pgvectorAdvice().then((a) => ({
          installSteps: a.PGVECTOR_INSTALL_STEPS,
          permission: a.PGVECTOR_PERMISSION_ADVICE,
        }))
      : { installSteps: '', permission: '' };
    return { findings: assessExtension(info, advice), passMessage: 'pgvector is installed' };
  },
};
