import { describe, expect, it } from 'vitest';
import { encodeVectorBinary } from '../../src/core/vector.js';
import { encodeCopyTuple, toHalfBits } from '../../src/store/copy.js';

describe('toHalfBits (float32 → IEEE binary16, round to nearest even)', () => {
  it.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff], // largest half
    [65519, 0x7bff], // rounds down to it
    [65520, 0x7c00], // the tie rounds to even: infinity
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal: even (0)
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal steps: even (2)
    [1 + 2 ** -11, 0x3c00], // tie between 1 and the next half: even (1)
    [1 + 3 * 2 ** -11, 0x3c02], // tie: even (upwards)
    [0.1, 0x2e66],
    [Number.POSITIVE_INFINITY, 0x7c00],
  ])('%d → 0x%s', (value, bits) => {
    expect(toHalfBits(value)).toBe(bits);
  });

  it('keeps NaN a NaN', () => {
    expect(toHalfBits(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(toHalfBits(Number.NaN) & 0x03ff).not.toBe(0);
  });

  it('writes dense embeddings in vector_recv and halfvec_recv formats', () => {
    const row = { id: '', content: '', metadataJson: null, embedding: { dense: [1, -2, 0.1] } };
    const tail = (tuple: Buffer) => [...tuple.subarray(2 + 4 + 4 + 4)];
    // halfvec: length 10, int16 dims 3, int16 0, then float2 × 3.
    expect(tail(encodeCopyTuple(row, false, true))).toEqual([
      0, 0, 0, 10, 0, 3, 0, 0, 0x3c, 0x00, 0xc0, 0x00, 0x2e, 0x66,
    ]);
    // vector: the very bytes the INSERT path binds.
    expect(tail(encodeCopyTuple(row, false))).toEqual([0, 0, 0, 16, ...encodeVectorBinary([1, -2, 0.1])]);
  });
});

describe('encodeCopyTuple', () => {
  it('writes field count, length-prefixed fields, -1 for NULL, jsonb version 1, timestamps from 2000-01-01', () => {
    const tuple = encodeCopyTuple(
      {
        id: 'a',
        content: 'é',
        metadataJson: null,
        embedding: new Uint8Array([9]),
        createdAt: new Date('2000-01-01T00:00:01Z'),
      },
      true,
    );
    expect([...tuple]).toEqual([
      0,
      5, // five fields
      0,
      0,
      0,
      1,
      0x61, // id
      0,
      0,
      0,
      2,
      0xc3,
      0xa9, // content, UTF-8
      0xff,
      0xff,
      0xff,
      0xff, // metadata NULL
      0,
      0,
      0,
      1,
      9, // embedding
      0,
      0,
      0,
      8,
      0,
      0,
      0,
      0,
      0,
      0x0f,
      0x42,
      0x40, // 1,000,000 µs
    ]);
    const withJson = encodeCopyTuple(
      { id: 'b', content: '', metadataJson: '{"a":1}', embedding: null },
      false,
    );
    expect(withJson.readInt16BE(0)).toBe(4);
    expect(withJson.subarray(2 + 4 + 1 + 4 + 4, 2 + 4 + 1 + 4 + 4 + 8).toString('latin1')).toBe(
      '\x01{"a":1}',
    );
  });
});
