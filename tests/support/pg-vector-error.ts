import { PgVectorError } from '../../src/core/errors.js';

/** The PgVectorError `fn` throws; fails when it returns or throws anything else. */
export function thrown(fn: () => unknown): PgVectorError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PgVectorError) return e;
    throw e;
  }
  throw new Error('expected a PgVectorError');
}

/** The PgVectorError `promise` rejects with; fails when it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<PgVectorError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PgVectorError) return error;
    throw error;
  }
  throw new Error('expected a PgVectorError');
}
