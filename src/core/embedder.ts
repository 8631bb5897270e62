/**
 * Embedders turn texts into vectors. The store takes any {@link Embedder} (a wrapper around an embedding
 * API, a local model); {@link HashingEmbedder} is the offline default for development, tests, CI and demos:
 * no model, no network, deterministic.
 */

import { PgVectorError } from './errors.js';
import { MAX_DIMENSIONS } from './vector.js';

/**
 * Turns texts into vectors of a fixed length.
 *
 * ### Examples
 * ```ts
 * const openai: Embedder = {
 *   dimensions: 1536,
 *   async embed(texts) {
 *     const res = await client.embeddings.create({ model: 'text-embedding-3-small', input: [...texts] });
 *     return res.data.map((d) => d.embedding);
 *   },
 * };
 * ```
 */
export interface Embedder {
  /** Length of every vector `embed` returns. */
  readonly dimensions: number;
  /** One vector per text, in the same order. */
  embed(texts: readonly string[]): Promise<number[][]>;
}

/** Options of {@link HashingEmbedder}. */
export interface HashingEmbedderOptions {
  /** Vector length, 1–16000. */
  readonly dimensions: number;
  /** Also hash character trigrams of each word (helps with inflections and typos). Default `true`. */
  readonly charTrigrams?: boolean;
}

const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.5;
const TRIGRAM_WEIGHT = 0.25;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const SIGN_SEED = 0x9e3779b9;
const encoder = new TextEncoder();

/** FNV-1a, 32-bit, over the UTF-8 bytes of `s`. */
function fnv1a(s: string): number {
  let h = FNV_OFFSET;
  for (const byte of encoder.encode(s)) h = Math.imul(h ^ byte, FNV_PRIME);
  return h >>> 0;
}

/** MurmurHash3's 32-bit finaliser: spreads every input bit over the whole word. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Words of a text: NFKC-normalised, lower-cased runs of letters, marks and digits. A text with no such run
 * (only symbols or emoji) falls back to its whitespace-separated pieces, so it still has features.
 */
function tokenize(text: string): string[] {
  const normalized = text.normalize('NFKC').toLowerCase();
  const words = normalized.match(/[\p{L}\p{M}\p{N}]+/gu);
  if (words !== null) return words;
  return normalized.match(/\S+/gu) ?? [];
}

/**
 * An offline embedder by feature hashing: lower-cased word unigrams (weight 1), word bigrams (0.5) and,
 * optionally, character trigrams of each word padded with `^`/`$` (0.25). Each feature's weight is scaled
 * by sublinear term frequency, `1 + ln(tf)`, and added with a hashed sign to one of `dimensions` buckets;
 * the result is L2-normalised, so cosine similarity, inner product and L2 distance rank the same way.
 *
 * Hash: FNV-1a 32-bit over the feature's UTF-8 bytes, finalised with MurmurHash3's `fmix32`; the bucket is
 * that value modulo `dimensions` and the sign is the low bit of `fmix32(value ^ 0x9e3779b9)`. Same text,
 * same options → the same vector on every platform and version of this library's 0.x line.
 *
 * Texts that share words score higher than texts that do not; it knows nothing of synonyms. Empty or
 * whitespace-only text has no features and would embed to the zero vector, which cosine distance cannot
 * handle (pgvector returns NaN and HNSW does not index it), so `embed` throws `INVALID_ARGUMENT` naming the
 * text's position: skip empty chunks before embedding. (If a non-empty text's features cancel out
 * exactly, possible only in very few dimensions, it gets a unit vector in a bucket chosen by its hash.)
 *
 * ### Examples
 * ```ts
 * const embedder = new HashingEmbedder({ dimensions: 256 });
 * const [a, b] = await embedder.embed(['HNSW index tuning', 'tuning the HNSW index']);
 * ```
 */
export class HashingEmbedder implements Embedder {
  readonly dimensions: number;
  private readonly charTrigrams: boolean;

  constructor(options: HashingEmbedderOptions) {
    const { dimensions, charTrigrams = true } = options;
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_DIMENSIONS.vector) {
      throw new PgVectorError(
        'INVALID_ARGUMENT',
        `dimensions must be an integer from 1 to ${MAX_DIMENSIONS.vector}, got ${String(dimensions)}`,
      );
    }
    this.dimensions = dimensions;
    this.charTrigrams = charTrigrams;
  }

  /** Embeds each text; see the class comment. Throws `INVALID_ARGUMENT` for empty text or a non-string. */
  async embed(texts: readonly string[]): Promise<number[][]> {
    if (!Array.isArray(texts))
      throw new PgVectorError('INVALID_ARGUMENT', 'embed expects an array of strings');
    return texts.map((text, i) => this.embedOne(text, i));
  }

  private embedOne(text: unknown, index: number): number[] {
    if (typeof text !== 'string') {
      throw new PgVectorError('INVALID_ARGUMENT', `texts[${index}] is not a string but ${typeof text}`);
    }
    const features = this.features(tokenize(text));
    if (features.size === 0) {
      throw new PgVectorError(
        'INVALID_ARGUMENT',
        `texts[${index}] is empty or only whitespace: nothing to embed`,
        {
          fix: 'skip empty texts before embedding',
        },
      );
    }
    const out = new Array<number>(this.dimensions).fill(0);
    for (const [feature, { weight, count }] of features) {
      const h = fmix32(fnv1a(feature));
      const sign = fmix32(h ^ SIGN_SEED) & 1 ? -1 : 1;
      const bucket = h % this.dimensions;
      out[bucket] = (out[bucket] as number) + sign * weight * (1 + Math.log(count));
    }
    let norm = 0;
    for (const x of out) norm += x * x;
    norm = Math.sqrt(norm);
    // Features can cancel out in a tiny space; fall back to one deterministic bucket rather than zero.
    if (norm === 0) {
      out[fmix32(fnv1a(text)) % this.dimensions] = 1;
      return out;
    }
    return out.map((x) => x / norm);
  }

  /** Feature → weight and count. Prefixes keep the kinds apart: `w:` word, `b:` bigram, `c:` trigram. */
  private features(words: readonly string[]): Map<string, { weight: number; count: number }> {
    const features = new Map<string, { weight: number; count: number }>();
    const add = (feature: string, weight: number) => {
      const f = features.get(feature);
      if (f === undefined) features.set(feature, { weight, count: 1 });
      else f.count++;
    };
    words.forEach((word, i) => {
      add(`w:${word}`, WORD_WEIGHT);
      if (i > 0) add(`b:${words[i - 1]} ${word}`, BIGRAM_WEIGHT);
      if (this.charTrigrams) {
        const chars = [...`^${word}$`];
        for (let j = 0; j + 3 <= chars.length; j++)
          add(`c:${chars.slice(j, j + 3).join('')}`, TRIGRAM_WEIGHT);
      }
    });
    return features;
  }
}
