/** Option parsing shared by the index commands (`advise`, `build-index`, `migration index`, `maintain`). */

import { isPgVectorError } from '../core/errors.js';
import { INDEX_METHODS, type IndexMethod, type Metric, parseMetric } from '../core/metric.js';
import type { IndexExpression } from '../indexes/index-spec.js';

/** `parseArgs` options that describe an index, shared by `build-index` and `migration index`. */
export const INDEX_SPEC_OPTIONS = {
  table: { type: 'string' },
  column: { type: 'string' },
  method: { type: 'string' },
  metric: { type: 'string' },
  m: { type: 'string' },
  'ef-construction': { type: 'string' },
  lists: { type: 'string' },
  where: { type: 'string' },
  expression: { type: 'string' },
  schema: { type: 'string' },
} as const;

/** A usage error: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function intOption(
  name: string,
  text: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

export function numberOption(
  name: string,
  text: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/** Bytes from `123`, `512MB`, `4GB` (binary units). */
export function bytesOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*(B|kB|KB|MB|GB|TB)?$/i.exec(text.trim());
  if (match === null)
    throw new UsageError(`--${name} must be bytes or a size like 512MB or 4GB, got "${text}"`);
  const unit = (match[2] ?? 'B').toUpperCase();
  const factor = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }[unit] ?? 1;
  return Math.round(Number(match[1]) * factor);
}

export function methodOption(text: string | undefined, fallback: IndexMethod): IndexMethod {
  if (text === undefined) return fallback;
  if ((INDEX_METHODS as readonly string[]).includes(text)) return text as IndexMethod;
  throw new UsageError(`--method must be hnsw or ivfflat, got "${text}"`);
}

export function metricOption(text: string | undefined, fallback: Metric): Metric {
  if (text === undefined) return fallback;
  try {
    return parseMetric(text);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

export function expressionOption(text: string | undefined): IndexExpression | undefined {
  if (text === undefined) return undefined;
  if (text === 'halfvec' || text === 'binary_quantize') return text;
  throw new UsageError(`--expression must be halfvec or binary_quantize, got "${text}"`);
}

/** The database URL: --url, else $DATABASE_URL; a usage error without either. */
export function urlOption(url: string | undefined): string {
  const value = url ?? process.env.DATABASE_URL;
  if (!value) throw new UsageError('no database: pass --url or set DATABASE_URL');
  return value;
}

/**
 * Runs a command body and maps failures to exit codes: usage errors (and `node:util` parseArgs errors) → 2,
 * our own errors → 1 with the message and its `Fix:` line (as JSON with `--json`), anything else rethrown.
 */
export async function runCommand(name: string, json: boolean, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    const parseError =
      error instanceof TypeError &&
      typeof (error as { code?: unknown }).code === 'string' &&
      String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
    if (error instanceof UsageError || parseError) {
      const message = (error as Error).message;
      if (json) console.log(JSON.stringify({ ok: false, error: { code: 'USAGE', message } }, null, 2));
      else
        console.error(
          `prisma-pgvector ${name}: ${message}\nRun \`prisma-pgvector ${name} --help\` for the options.`,
        );
      return 2;
    }
    if (isPgVectorError(error)) {
      if (json) {
        console.log(
          JSON.stringify(
            { ok: false, error: { code: error.code, message: error.message, fix: error.fix } },
            null,
            2,
          ),
        );
      } else console.error(`prisma-pgvector ${name}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/** `--json` given anywhere in argv (so that even a parse error is reported as JSON). */
export function wantsJson(argv: readonly string[]): boolean {
  return argv.includes('--json');
}
