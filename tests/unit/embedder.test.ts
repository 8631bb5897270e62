import { describe, expect, it } from 'vitest';
import { type Embedder, HashingEmbedder } from '../../src/core/embedder.js';
import { PgVectorError } from '../../src/core/errors.js';
import { validateVector } from '../../src/core/vector.js';

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i] as number) * (b[i] as number);
  return dot;
}

function norm(v: readonly number[]): number {
  return Math.sqrt(cosine(v, v));
}

async function rejection(promise: Promise<unknown>): Promise<PgVectorError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof PgVectorError) return e;
    throw e;
  }
  throw new Error('expected a PgVectorError');
}

describe('HashingEmbedder', () => {
  it('implements Embedder with the configured dimensions', async () => {
    const embedder: Embedder = new HashingEmbedder({ dimensions: 384 });
    expect(embedder.dimensions).toBe(384);
    const vectors = await embedder.embed(['one text', 'another text']);
    expect(vectors).toHaveLength(2);
    for (const v of vectors) {
      expect(v).toHaveLength(384);
      expect(() => validateVector(v, 384)).not.toThrow();
    }
    expect(await embedder.embed([])).toEqual([]);
  });

  it('is deterministic across calls and instances, and pinned to its hash', async () => {
    const a = new HashingEmbedder({ dimensions: 64, charTrigrams: false });
    const b = new HashingEmbedder({ dimensions: 64, charTrigrams: false });
    const [v1] = await a.embed(['hello world']);
    const [v2] = await b.embed(['hello world']);
    expect(v1).toEqual(v2);
    // FNV-1a + fmix32: 'w:hello', 'w:world' and 'b:hello world' land in buckets 24, 48 and 2.
    const nonZero = (v1 as number[]).flatMap((x, i) => (x === 0 ? [] : [[i, x]]));
    expect(nonZero).toEqual([
      [2, 1 / 3],
      [24, 2 / 3],
      [48, -2 / 3],
    ]);
  });

  it('returns unit vectors', async () => {
    const vectors = await new HashingEmbedder({ dimensions: 256 }).embed([
      'a',
      'the the the the',
      'Vector search with PostgreSQL and pgvector: HNSW vs IVFFlat.',
      'x'.repeat(10_000),
    ]);
    for (const v of vectors) expect(norm(v)).toBeCloseTo(1, 12);
  });

  it('ignores case, punctuation and Unicode compatibility forms', async () => {
    const embedder = new HashingEmbedder({ dimensions: 128 });
    const [a, b, c] = await embedder.embed(['Hello, World!', 'hello world', 'ＨＥＬＬＯ　ｗｏｒｌｄ']);
    expect(a).toEqual(b);
    expect(c).toEqual(b);
  });

  it('scores related texts above unrelated ones', async () => {
    const embedder = new HashingEmbedder({ dimensions: 256 });
    const cases: [string, string, string][] = [
      [
        'how to tune the HNSW index for better recall',
        'tuning HNSW index parameters improves recall',
        'chocolate cake recipe with whipped cream',
      ],
      [
        'PostgreSQL vacuum after bulk insert',
        'run VACUUM ANALYZE after a bulk insert in PostgreSQL',
        'the cat sat on the mat',
      ],
      [
        'cheap flights to Lisbon',
        'find cheap flights to Lisbon in May',
        'partial indexes for filtered vector queries',
      ],
    ];
    for (const [query, related, unrelated] of cases) {
      const [q, r, u] = (await embedder.embed([query, related, unrelated])) as [number[], number[], number[]];
      expect(cosine(q, r)).toBeGreaterThan(cosine(q, u) + 0.2);
    }
  });

  it('ranks by word order through bigrams', async () => {
    const embedder = new HashingEmbedder({ dimensions: 512, charTrigrams: false });
    const [q, same, swapped] = (await embedder.embed([
      'new york times',
      'new york times',
      'times new york',
    ])) as [number[], number[], number[]];
    expect(cosine(q, same)).toBeCloseTo(1, 12);
    expect(cosine(q, swapped)).toBeLessThan(cosine(q, same));
    expect(cosine(q, swapped)).toBeGreaterThan(0.5);
  });

  it('relates inflections through character trigrams', async () => {
    const withTrigrams = new HashingEmbedder({ dimensions: 256 });
    const without = new HashingEmbedder({ dimensions: 256, charTrigrams: false });
    const [a, b] = (await withTrigrams.embed(['indexing', 'indexes'])) as [number[], number[]];
    const [c, d] = (await without.embed(['indexing', 'indexes'])) as [number[], number[]];
    expect(cosine(a, b)).toBeGreaterThan(0.1);
    expect(cosine(c, d)).toBe(0);
  });

  it('applies sublinear term frequency', async () => {
    const embedder = new HashingEmbedder({ dimensions: 512, charTrigrams: false });
    const [once, many, other] = (await embedder.embed([
      'apple banana',
      'apple apple apple apple banana',
      'banana',
    ])) as [number[], number[], number[]];
    // Four "apple"s weigh 1 + ln 4 ≈ 2.39 times one, not 4 times: "banana" keeps a visible share.
    expect(cosine(many, other)).toBeGreaterThan(0.25);
    expect(cosine(once, other)).toBeGreaterThan(cosine(many, other));
  });

  it('embeds symbol-only text instead of returning a zero vector', async () => {
    const [v] = (await new HashingEmbedder({ dimensions: 64 }).embed(['🙂 🙂!'])) as [number[]];
    expect(norm(v)).toBeCloseTo(1, 12);
  });

  it('never returns a zero vector when features cancel out', async () => {
    // In one dimension, 'a b c' sums ±1 ±1 ±1 ±0.5 ±0.5, exactly 0 for 3 sign patterns in 16 (40 of these 200).
    const embedder = new HashingEmbedder({ dimensions: 1, charTrigrams: false });
    const texts = Array.from({ length: 200 }, (_, i) => `w${i} x${i} y${i}`);
    for (const [v] of (await embedder.embed(texts)).map((v) => [v])) {
      expect(Math.abs((v as number[])[0] as number)).toBe(1);
    }
  });

  it.each([
    ['', 'texts[0] is empty or only whitespace: nothing to embed'],
    [' \n\t ', 'texts[0] is empty or only whitespace: nothing to embed'],
  ])('rejects %j with INVALID_ARGUMENT', async (text, message) => {
    const e = await rejection(new HashingEmbedder({ dimensions: 8 }).embed([text]));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(`${message}\nFix: skip empty texts before embedding`);
  });

  it('names the position of the bad text', async () => {
    const e = await rejection(new HashingEmbedder({ dimensions: 8 }).embed(['fine', 'also fine', '']));
    expect(e.message).toContain('texts[2] is empty');
    const e2 = await rejection(
      new HashingEmbedder({ dimensions: 8 }).embed(['fine', 3 as unknown as string]),
    );
    expect(e2.message).toBe('texts[1] is not a string but number');
    const e3 = await rejection(new HashingEmbedder({ dimensions: 8 }).embed('text' as unknown as string[]));
    expect(e3.message).toBe('embed expects an array of strings');
  });

  it.each([0, -3, 2.5, 16_001, Number.NaN])('rejects dimensions %s', (dimensions) => {
    expect(() => new HashingEmbedder({ dimensions })).toThrow(
      `dimensions must be an integer from 1 to 16000, got ${dimensions}`,
    );
  });
});
