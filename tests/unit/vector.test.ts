import type { Sql } from '@prisma/client/runtime/client';
import { describe, expect, it } from 'vitest';
import type { PgVectorError } from '../../src/core/errors.js';
import {
  decodeVectorBinary,
  denseBinaryParam,
  encodeBitBinary,
  encodeHalfvecText,
  encodeSparseVectorBinary,
  encodeSparseVectorText,
  encodeVectorBinary,
  encodeVectorText,
  formatVectorPreview,
  MAX_DIMENSIONS,
  parseSparseVectorText,
  parseVectorText,
  SPARSEVEC_MAX_NONZERO,
  validateBitVector,
  validateSparseVector,
  validateVector,
  vectorParam,
} from '../../src/core/vector.js';
import { thrown } from '../support/pg-vector-error.js';

/** The message without the `Fix:` line. */
function headline(e: PgVectorError): string {
  return e.message.split('\nFix: ')[0] as string;
}

/** A deterministic pseudo-random float sequence (xorshift32) spanning many magnitudes. */
function floats(n: number, seed = 42): number[] {
  let x = seed;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const u = (x >>> 0) / 2 ** 32;
    out.push((u - 0.5) * 10 ** ((i % 40) - 20));
  }
  return out;
}

const EDGE = [
  0,
  -0,
  1,
  -1,
  0.1,
  1 / 3,
  1e-45, // smallest float4 subnormal (rounds to 1.4e-45)
  -1e-45,
  1.17549435e-38, // smallest normal float4
  3.4028234663852886e38, // largest float4
  -3.4028234663852886e38,
  16777217, // not representable: rounds to 16777216
  123456789,
  1e-7,
  5e-324, // underflows to 0 in float4
  65504,
];

describe('validateVector', () => {
  it('returns valid input unchanged', () => {
    const a = [0.1, 0.2, 0.3];
    expect(validateVector(a, 3)).toBe(a);
    const f32 = new Float32Array([1, 2]);
    expect(validateVector(f32, 2)).toBe(f32);
    const f64 = new Float64Array([1, 2]);
    expect(validateVector(f64, 2, 'halfvec')).toBe(f64);
    expect(validateVector(EDGE, EDGE.length)).toBe(EDGE);
  });

  it('rejects a wrong length with DIMENSION_MISMATCH naming expected and actual', () => {
    const e = thrown(() => validateVector([0.1, 0.2], 3));
    expect(e.code).toBe('DIMENSION_MISMATCH');
    expect(e.message).toContain('expected 3 dimensions, got 2: [0.1, 0.2]');
    expect(e.fix).toContain('configured dimensions');
  });

  it('never dumps a whole long vector in a message', () => {
    const long = floats(1536);
    const e = thrown(() => validateVector(long, 768));
    expect(e.message).toContain('expected 768 dimensions, got 1536: [');
    expect(e.message).toContain('…1533 more]');
    expect(e.message.length).toBeLessThan(300);
    const bad = [...long];
    bad[1000] = Number.NaN;
    const e2 = thrown(() => validateVector(bad, 1536));
    expect(e2.code).toBe('INVALID_VECTOR');
    expect(e2.message).toMatch(/^element 1000 is NaN: \[.*, …1533 more\]$/);
    expect(e2.message.length).toBeLessThan(200);
  });

  it.each([
    ['empty', [], 3, 'vector is empty'],
    ['empty with dims 0', [], 0, 'vector is empty'],
    ['NaN', [1, Number.NaN, 3], 3, 'element 1 is NaN: [1, NaN, 3]'],
    ['+Infinity', [Number.POSITIVE_INFINITY, 0, 0], 3, 'element 0 is Infinity: [Infinity, 0, 0]'],
    ['-Infinity', [0, 0, Number.NEGATIVE_INFINITY], 3, 'element 2 is -Infinity: [0, 0, -Infinity]'],
    ['a string', [0, '0.5', 0], 3, 'element 1 is not a number ("0.5"): [0, "0.5", 0]'],
    ['null', [0, 0, null], 3, 'element 2 is not a number (null): [0, 0, null]'],
    ['a hole', [0, undefined, 0], 3, 'element 1 is not a number (undefined): [0, undefined, 0]'],
    ['a nested array', [[1], 2, 3], 3, 'element 0 is not a number (array): [array, 2, 3]'],
    ['beyond float4', [1e39, 0, 0], 3, 'element 0 (1e+39) is out of range for type vector: [1e+39, 0, 0]'],
    [
      'an object',
      { length: 3 },
      3,
      'a vector must be an array of numbers, a Float32Array or a Float64Array, got object',
    ],
    [
      'an Int32Array',
      new Int32Array(3),
      3,
      'a vector must be an array of numbers, a Float32Array or a Float64Array, got Int32Array',
    ],
    [
      'null input',
      null,
      3,
      'a vector must be an array of numbers, a Float32Array or a Float64Array, got null',
    ],
  ])('rejects %s with INVALID_VECTOR', (_name, input, dims, message) => {
    const e = thrown(() => validateVector(input, dims));
    expect(e.code).toBe('INVALID_VECTOR');
    expect(e.message).toBe(message);
  });

  it('accepts the largest float4 and rejects what rounds past it', () => {
    expect(() => validateVector([3.4028235e38], 1)).not.toThrow();
    expect(thrown(() => validateVector([3.4028236e38], 1)).message).toContain('out of range for type vector');
  });

  it('checks the float2 range for halfvec (65519 rounds to 65504, 65520 overflows)', () => {
    expect(() => validateVector([65519, -65519], 2, 'halfvec')).not.toThrow();
    const e = thrown(() => validateVector([1, -65520], 2, 'halfvec'));
    expect(e.code).toBe('INVALID_VECTOR');
    expect(e.message).toBe('element 1 (-65520) is out of range for type halfvec: [1, -65520]');
  });

  it.each([0, -1, 1.5, 16_001, Number.NaN])('rejects dims %s with INVALID_ARGUMENT', (dims) => {
    const e = thrown(() => validateVector([1], dims));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(`dimensions for type vector must be an integer from 1 to 16000, got ${dims}`);
  });
});

describe('formatVectorPreview', () => {
  it('shows at most three elements by default', () => {
    expect(formatVectorPreview([0.12, 0.5, 0.3, 0.9])).toBe('[0.12, 0.5, 0.3, …1 more]');
    expect(formatVectorPreview([1, 2])).toBe('[1, 2]');
    expect(formatVectorPreview([])).toBe('[]');
    expect(formatVectorPreview([-0, 1], 1)).toBe('[-0, …1 more]');
    expect(formatVectorPreview([1, 2], 0)).toBe('[…2 more]');
    expect(formatVectorPreview(['a'.repeat(50)])).toBe(`["${'a'.repeat(20)}…"]`);
  });
});

describe('vector text format', () => {
  it('writes the shortest decimal that reads back as the same float4', () => {
    expect(encodeVectorText([1, 2.5, -0.125])).toBe('[1,2.5,-0.125]');
    expect(encodeVectorText([0.1, 0.2, 0.3])).toBe('[0.1,0.2,0.3]');
    expect(encodeVectorText(new Float32Array([0.1, 1 / 3]))).toBe('[0.1,0.33333334]');
    expect(encodeVectorText(EDGE)).toBe(
      '[0,-0,1,-1,0.1,0.33333334,1e-45,-1e-45,1.1754944e-38,3.4028235e+38,-3.4028235e+38,16777216,123456790,1e-7,0,65504]',
    );
  });

  it('keeps the sign of -0', () => {
    expect(encodeVectorText([-0])).toBe('[-0]');
    expect(Object.is(parseVectorText('[-0]')[0], -0)).toBe(true);
  });

  it('round-trips every element as float4', () => {
    for (const values of [EDGE, floats(1536), floats(4000, 7)]) {
      const back = parseVectorText(encodeVectorText(values));
      expect(back).toHaveLength(values.length);
      back.forEach((x, i) => {
        expect(Object.is(Math.fround(x), Math.fround(values[i] as number))).toBe(true);
      });
    }
  });

  it('uses no more than nine significant digits per element', () => {
    const text = encodeVectorText(floats(2000));
    for (const part of text.slice(1, -1).split(',')) {
      const digits = part
        .replace(/^-/, '')
        .replace(/e.*$/, '')
        .replace('.', '')
        .replace(/^0+/, '')
        .replace(/0+$/, '');
      expect(digits.length).toBeLessThanOrEqual(9);
    }
  });

  it('validates before encoding', () => {
    expect(thrown(() => encodeVectorText([])).message).toBe('vector is empty');
    expect(thrown(() => encodeVectorText([1, Number.NaN])).message).toBe('element 1 is NaN: [1, NaN]');
  });

  it('encodes halfvec text and rejects float2 overflow', () => {
    expect(encodeHalfvecText([1, 0.5, -65504])).toBe('[1,0.5,-65504]');
    expect(thrown(() => encodeHalfvecText([70000])).message).toBe(
      'element 0 (70000) is out of range for type halfvec: [70000]',
    );
  });

  it('parses pgvector output into numbers or a Float32Array', () => {
    expect(parseVectorText('[1,2.5,-0.125]')).toEqual([1, 2.5, -0.125]);
    expect(parseVectorText(' [1, 2] ')).toEqual([1, 2]);
    expect(parseVectorText('[3.4028235e+38,1e-45]')).toEqual([3.4028235e38, 1e-45]);
    const f = parseVectorText('[1,0.1]', { float32: true });
    expect(f).toBeInstanceOf(Float32Array);
    expect(Array.from(f)).toEqual([1, Math.fround(0.1)]);
  });

  it.each([
    ['', 'not a vector in text format: ""'],
    ['[]', 'not a vector in text format: "[]"'],
    ['1,2', 'not a vector in text format: "1,2"'],
    ['[1,,2]', 'element 1 of the vector text is not a finite number: ""'],
    ['[1,abc]', 'element 1 of the vector text is not a finite number: "abc"'],
    ['[NaN]', 'element 0 of the vector text is not a finite number: "NaN"'],
    ['[Infinity]', 'element 0 of the vector text is not a finite number: "Infinity"'],
  ])('rejects %j', (text, message) => {
    const e = thrown(() => parseVectorText(text));
    expect(e.code).toBe('INVALID_VECTOR');
    expect(e.message).toBe(message);
  });

  it('does not echo a long malformed text', () => {
    const e = thrown(() => parseVectorText(`{${'1,'.repeat(5000)}`));
    expect(e.message.length).toBeLessThan(80);
  });
});

describe('vector binary format', () => {
  it('writes int16 dims, int16 0, then big-endian float4', () => {
    expect(encodeVectorBinary([1, 2]).toString('hex')).toBe('000200003f80000040000000');
    expect(encodeVectorBinary([-0]).toString('hex')).toBe('0001000080000000');
    expect(encodeVectorBinary(new Float32Array(1536))).toHaveLength(6148);
  });

  it('round-trips float4 values exactly, including -0, subnormals and extremes', () => {
    for (const values of [EDGE, floats(1536)]) {
      const back = decodeVectorBinary(encodeVectorBinary(values));
      expect(back).toBeInstanceOf(Float32Array);
      back.forEach((x, i) => {
        expect(Object.is(x, Math.fround(values[i] as number))).toBe(true);
      });
    }
  });

  it('decodes from a view into a larger buffer', () => {
    const inner = encodeVectorBinary([1, 2, 3]);
    const outer = new Uint8Array(inner.length + 5);
    outer.set(inner, 5);
    expect(Array.from(decodeVectorBinary(outer.subarray(5)))).toEqual([1, 2, 3]);
  });

  it.each([
    ['too short', new Uint8Array([0, 1]), 'binary vector is shorter than its 4-byte header'],
    [
      'length mismatch',
      new Uint8Array([0, 2, 0, 0, 0, 0, 0, 0]),
      'binary vector header says 2 dimensions but it holds 8 bytes',
    ],
    [
      'zero dims',
      new Uint8Array([0, 0, 0, 0]),
      'binary vector header says 0 dimensions but it holds 4 bytes',
    ],
  ])('rejects %s', (_name, bytes, message) => {
    const e = thrown(() => decodeVectorBinary(bytes));
    expect(e.code).toBe('INVALID_VECTOR');
    expect(e.message).toBe(message);
  });

  it('validates before encoding', () => {
    expect(thrown(() => encodeVectorBinary([Number.POSITIVE_INFINITY])).code).toBe('INVALID_VECTOR');
  });
});

describe('sparse vectors', () => {
  it('canonicalises: sorts indices and drops zeros', () => {
    expect(
      validateSparseVector(
        new Map([
          [4, 2],
          [0, 0.5],
          [2, 0],
        ]),
        5,
      ),
    ).toEqual({
      indices: [0, 4],
      values: [0.5, 2],
      dims: 5,
    });
    expect(validateSparseVector({ indices: [3, 1], values: [1, -1], dims: 4 }, 4)).toEqual({
      indices: [1, 3],
      values: [-1, 1],
      dims: 4,
    });
    expect(validateSparseVector({ indices: [0], values: [1e-46], dims: 4 }, 4).indices).toEqual([]);
  });

  it('encodes text with one-based indices and binary with zero-based ones', () => {
    const s = { indices: [0, 2], values: [0.5, 2], dims: 5 };
    expect(encodeSparseVectorText(s)).toBe('{1:0.5,3:2}/5');
    expect(encodeSparseVectorText({ indices: [], values: [], dims: 3 })).toBe('{}/3');
    expect(encodeSparseVectorBinary(s).toString('hex')).toBe(
      `${'00000005'}${'00000002'}${'00000000'}${'00000000'}${'00000002'}${'3f000000'}${'40000000'}`,
    );
  });

  it('parses pgvector output back', () => {
    expect(parseSparseVectorText('{1:0.5,3:2}/5')).toEqual({ indices: [0, 2], values: [0.5, 2], dims: 5 });
    expect(parseSparseVectorText('{}/7')).toEqual({ indices: [], values: [], dims: 7 });
    const s = { indices: [9, 99, 999], values: [0.1, -2.5, 3e10], dims: 1000 };
    expect(parseSparseVectorText(encodeSparseVectorText(s))).toEqual({
      ...s,
      values: [0.1, -2.5, 30000000000],
    });
  });

  it.each([
    [
      'dims mismatch',
      { indices: [0], values: [1], dims: 6 },
      5,
      'DIMENSION_MISMATCH',
      'expected 5 dimensions, got 6: sparse vector with 1 non-zeros',
    ],
    [
      'index out of range',
      { indices: [5], values: [1], dims: 5 },
      5,
      'INVALID_VECTOR',
      'sparse vector index 5 is outside [0, 5)',
    ],
    ['negative index', new Map([[-1, 1]]), 5, 'INVALID_VECTOR', 'sparse vector index -1 is outside [0, 5)'],
    [
      'fractional index',
      new Map([[1.5, 1]]),
      5,
      'INVALID_VECTOR',
      'sparse vector index 1.5 is outside [0, 5)',
    ],
    [
      'duplicate index',
      { indices: [1, 1], values: [1, 2], dims: 5 },
      5,
      'INVALID_VECTOR',
      'sparse vector index 1 appears twice',
    ],
    [
      'NaN value',
      { indices: [1], values: [Number.NaN], dims: 5 },
      5,
      'INVALID_VECTOR',
      'sparse vector value at index 1 is NaN',
    ],
    [
      'length mismatch',
      { indices: [1, 2], values: [1], dims: 5 },
      5,
      'INVALID_VECTOR',
      'sparse vector has 2 indices but 1 values',
    ],
    [
      'not a sparse vector',
      [1, 2],
      5,
      'INVALID_VECTOR',
      'a sparse vector must be { indices, values, dims } or a Map, got object',
    ],
  ])('rejects %s', (_name, input, dims, code, message) => {
    const e = thrown(() => validateSparseVector(input as never, dims));
    expect(e.code).toBe(code);
    expect(headline(e)).toBe(message);
  });

  it('limits the number of non-zeros', () => {
    const n = SPARSEVEC_MAX_NONZERO + 1;
    const input = {
      indices: Array.from({ length: n }, (_, i) => i),
      values: new Array<number>(n).fill(1),
      dims: n,
    };
    expect(thrown(() => validateSparseVector(input, n)).message).toBe(
      `sparse vector has ${n} non-zero elements; at most 16000 are allowed`,
    );
  });

  it('needs dims when encoding a Map directly', () => {
    const e = thrown(() => encodeSparseVectorText(new Map([[0, 1]]) as never));
    expect(e.code).toBe('INVALID_ARGUMENT');
  });

  it.each(['{1:2}', '{1:a}/3', '{1:2:3}/3', '{x:1}/3', '[1,2]'])('rejects malformed text %j', (text) => {
    expect(thrown(() => parseSparseVectorText(text)).code).toBe('INVALID_VECTOR');
  });
});

describe('bit vectors', () => {
  it('accepts booleans or a 0/1 string and returns the string', () => {
    expect(validateBitVector([true, false, true], 3)).toBe('101');
    expect(validateBitVector('0101', 4)).toBe('0101');
  });

  it('packs bits most-significant first, zero-padding the last byte', () => {
    expect(encodeBitBinary('101').toString('hex')).toBe('00000003a0');
    expect(encodeBitBinary('111111111').toString('hex')).toBe('00000009ff80');
    expect(encodeBitBinary([false, false, false, false, false, false, false, true]).toString('hex')).toBe(
      '0000000801',
    );
  });

  it.each([
    ['a bad character', '10x', 3, 'INVALID_VECTOR', 'bit 2 is not 0 or 1 ("x")'],
    ['a non-boolean', [true, 1, false], 3, 'INVALID_VECTOR', 'bit 1 is not a boolean (1)'],
    ['empty', '', 3, 'INVALID_VECTOR', 'bit vector is empty'],
    ['empty with dims 0', [], 0, 'INVALID_VECTOR', 'bit vector is empty'],
    ['a wrong length', '1010', 3, 'DIMENSION_MISMATCH', 'expected 3 dimensions, got 4: 1010'],
    [
      'a number',
      5,
      3,
      'INVALID_VECTOR',
      'a bit vector must be a boolean[] or a string of 0 and 1, got number',
    ],
  ])('rejects %s', (_name, input, dims, code, message) => {
    const e = thrown(() => validateBitVector(input as never, dims));
    expect(e.code).toBe(code);
    expect(e.message).toContain(message);
  });

  it('shortens long bit strings in messages', () => {
    const e = thrown(() => validateBitVector('1'.repeat(1000), 64));
    expect(e.message).toContain(`got 1000: ${'1'.repeat(16)}…`);
    expect(e.message.length).toBeLessThan(200);
  });
});

describe('vectorParam', () => {
  it('binds a vector as text with a typed cast by default', () => {
    const s = vectorParam([1, 2, 3], 'vector', 3);
    expect(s.text).toBe('$1::vector(3)');
    expect(s.sql).toBe('?::vector(3)');
    expect(s.values).toEqual(['[1,2,3]']);
  });

  it('binds a vector as pgvector binary', () => {
    const s = vectorParam([1, 2], 'vector', 2, 'binary');
    expect(s.text).toBe('$1::vector(2)');
    expect(s.values).toHaveLength(1);
    expect(Buffer.isBuffer(s.values[0])).toBe(true);
    expect((s.values[0] as Buffer).toString('hex')).toBe('000200003f80000040000000');
  });

  it('binds halfvec as text, or as binary float4 cast through vector', () => {
    expect(vectorParam([1, 0.5], 'halfvec', 2).text).toBe('$1::halfvec(2)');
    expect(vectorParam([1, 0.5], 'halfvec', 2).values).toEqual(['[1,0.5]']);
    const b = vectorParam([1, 0.5], 'halfvec', 2, 'binary');
    expect(b.text).toBe('$1::vector(2)::halfvec(2)');
    expect((b.values[0] as Buffer).toString('hex')).toBe('000200003f8000003f000000');
  });

  it('binds sparsevec and bit', () => {
    const sv = { indices: [0, 2], values: [0.5, 2], dims: 5 };
    expect(vectorParam(sv, 'sparsevec', 5).text).toBe('$1::sparsevec(5)');
    expect(vectorParam(sv, 'sparsevec', 5).values).toEqual(['{1:0.5,3:2}/5']);
    expect(
      vectorParam(
        new Map([
          [2, 2],
          [0, 0.5],
        ]),
        'sparsevec',
        5,
      ).values,
    ).toEqual(['{1:0.5,3:2}/5']);
    expect((vectorParam(sv, 'sparsevec', 5, 'binary').values[0] as Buffer).length).toBe(28);
    expect(vectorParam([true, false, true], 'bit', 3).text).toBe('$1::bit(3)');
    expect(vectorParam([true, false, true], 'bit', 3).values).toEqual(['101']);
    expect((vectorParam('101', 'bit', 3, 'binary').values[0] as Buffer).toString('hex')).toBe('00000003a0');
  });

  it('validates against the column dimensions', () => {
    expect(thrown(() => vectorParam([1, 2], 'vector', 3)).code).toBe('DIMENSION_MISMATCH');
    expect(thrown(() => vectorParam([70000], 'halfvec', 1)).code).toBe('INVALID_VECTOR');
    expect(thrown(() => vectorParam('10', 'bit', 3)).code).toBe('DIMENSION_MISMATCH');
    expect(thrown(() => vectorParam({ indices: [], values: [], dims: 4 }, 'sparsevec', 5)).code).toBe(
      'DIMENSION_MISMATCH',
    );
    expect(thrown(() => vectorParam([1], 'vector', MAX_DIMENSIONS.vector + 1)).code).toBe('INVALID_ARGUMENT');
  });

  it('rejects an unknown type or encoding', () => {
    expect(thrown(() => vectorParam([1], 'vector', 1, 'hex' as never)).message).toBe(
      `encoding must be 'text' or 'binary', got "hex"`,
    );
    expect(thrown(() => vectorParam([1], 'float8' as never, 1)).message).toBe('unknown vector type "float8"');
  });
});

describe('denseBinaryParam (the search path’s one-pass encoding)', () => {
  const same = (a: Sql, b: Sql) => {
    expect(a.text).toBe(b.text);
    expect(a.values).toHaveLength(1);
    expect(Buffer.compare(a.values[0] as Buffer, b.values[0] as Buffer)).toBe(0);
  };
  it('gives the bytes and SQL of vectorParam(…, binary) for every good vector', () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647 - 0.5;
    };
    for (const type of ['vector', 'halfvec'] as const) {
      for (const dims of [1, 3, 384, 1536]) {
        const values = Array.from({ length: dims }, () => next() * (type === 'halfvec' ? 1000 : 1e6));
        for (const input of [values, Float32Array.from(values), Float64Array.from(values)]) {
          const fast = denseBinaryParam(input, type, dims);
          expect(fast?.zero).toBe(false);
          same(fast!.sql, vectorParam(input as number[], type, dims, 'binary'));
        }
      }
    }
    expect(denseBinaryParam([0, -0, 0], 'vector', 3)?.zero).toBe(true);
    expect(denseBinaryParam([0, 1e-50, 0], 'vector', 3)?.zero).toBe(true); // a float4 zero, as stored
  });

  it('declines whatever the checked path refuses (which then says what)', () => {
    const bad: [unknown, 'vector' | 'halfvec', number][] = [
      ['[1,2]', 'vector', 2],
      [[1, 2], 'vector', 3],
      [[1, Number.NaN], 'vector', 2],
      [[1, Number.POSITIVE_INFINITY], 'vector', 2],
      [[1, 1e39], 'vector', 2], // beyond float4
      [[1, 70_000], 'halfvec', 2],
      [[1, '2'], 'vector', 2],
      [[1, undefined], 'vector', 2],
      [[], 'vector', 0],
      [[1], 'vector', 1.5],
      // biome-ignore lint/suspicious/noSparseArray: a hole is refused too
      [[1, , 3], 'vector', 3],
    ];
    for (const [input, type, dims] of bad) {
      expect(denseBinaryParam(input, type, dims), JSON.stringify(input)).toBeUndefined();
      expect(() => vectorParam(input as number[], type, dims, 'binary')).toThrow();
    }
  });
});
