import { describe, expect, it } from 'vitest';
import { PgVectorError } from '../../src/core/errors.js';
import { translateDatabaseError } from '../../src/core/translate-error.js';

const context = {
  operation: 'addMany: batch 2 of 3 (docs[500..999])',
  tableName: 'documents',
  vectorType: 'vector',
  dimensions: 3,
  metric: 'cosine',
} as const;

/** A Prisma 7 raw-query error as the driver adapter reports a server error. */
function prismaError(code: string, message: string, detail?: string) {
  return {
    name: 'PrismaClientKnownRequestError',
    code: 'P2010',
    meta: {
      driverAdapterError: {
        name: 'DriverAdapterError',
        cause: { originalCode: code, originalMessage: message, kind: 'postgres', detail },
      },
    },
  };
}

describe('server data errors (issue 12, item 3)', () => {
  it.each([
    ['22021', 'invalid byte sequence for encoding "UTF8": 0x00', undefined],
    ['22P05', 'unsupported Unicode escape sequence', '\\u0000 cannot be converted to text.'],
  ])('%s names the rows and the fix', (code, message, detail) => {
    const e = translateDatabaseError(prismaError(code, message, detail), context) as PgVectorError;
    expect(e).toBeInstanceOf(PgVectorError);
    expect(e.code).toBe('DATABASE_ERROR');
    expect(e.message).toMatch(/^addMany: batch 2 of 3 \(docs\[500\.\.999\]\) failed \(SQLSTATE 22/);
    expect(e.fix).toMatch(/NUL character \(\\u0000\) or an unpaired UTF-16 surrogate/);
    expect(e.server?.sqlState).toBe(code);
  });
});
