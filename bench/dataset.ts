/**
 * Synthetic, seeded, clustered embeddings: a Gaussian mixture on the unit sphere, shaped like real text
 * embeddings (documents come in topics; queries fall near topics, not exactly on stored rows).
 *
 * - `clusters` centres are drawn uniformly on the unit sphere (a normalised standard Gaussian vector).
 * - A point of cluster c is `normalise(centre_c + spread · g / √d)` with g ~ N(0, I_d): the noise has norm
 *   ≈ `spread`, so two points of one cluster have a cosine similarity ≈ 1 / (1 + spread²) (0.8 for the
 *   default 0.5), points of different clusters ≈ 0.
 * - Cluster sizes are uniform (each point picks its cluster uniformly at random).
 * - Queries are fresh draws from the same mixture (seeded apart from the rows).
 * - Every row also gets metadata `{ cluster, s10, s1 }`: `s10 = 'y'` for a random 10% of rows and
 *   `s1 = 'y'` for a random 1%, independent of the cluster, for filtered searches of known selectivity.
 *
 * Random numbers: mulberry32 (32-bit state) and Box–Muller; everything is a function of the seed.
 */

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws from a uniform source (Box–Muller, both values used). */
export function gaussian(next: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = 1 - next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

function normalise(v: Float64Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  return Float32Array.from(v, (x) => x / norm);
}

/** Parameters of a mixture; same parameters, same data. */
export interface MixtureSpec {
  readonly dims: number;
  readonly clusters: number;
  readonly spread: number;
  readonly seed: number;
}

/** Row metadata: cluster number and the two selectivity tags. */
export interface RowMeta {
  readonly cluster: number;
  readonly s10: 'y' | 'n';
  readonly s1: 'y' | 'n';
}

/** One generated row. */
export interface Row {
  /** `r<i>`: rows are addressed by their position in the stream. */
  readonly id: string;
  readonly content: string;
  readonly metadata: RowMeta;
  readonly embedding: Float32Array;
}

/** A Gaussian mixture: its centres, and streams of rows and queries. */
export class Mixture {
  readonly spec: MixtureSpec;
  private readonly centres: Float64Array[];

  constructor(spec: MixtureSpec) {
    this.spec = spec;
    const g = gaussian(random(spec.seed));
    this.centres = Array.from({ length: spec.clusters }, () => {
      const c = Float64Array.from({ length: spec.dims }, g);
      let n = 0;
      for (const x of c) n += x * x;
      n = Math.sqrt(n);
      return c.map((x) => x / n);
    });
  }

  private point(next: () => number, g: () => number): { cluster: number; vector: Float32Array } {
    const { dims, spread, clusters } = this.spec;
    const cluster = Math.min(clusters - 1, Math.floor(next() * clusters));
    const centre = this.centres[cluster] as Float64Array;
    const scale = spread / Math.sqrt(dims);
    const v = new Float64Array(dims);
    for (let i = 0; i < dims; i++) v[i] = (centre[i] as number) + scale * g();
    return { cluster, vector: normalise(v) };
  }

  /** Rows `0 … count-1`, generated lazily (the same rows for the same spec, whatever the count). */
  *rows(count: number, offset = 0): Generator<Row> {
    const next = random(this.spec.seed + 1);
    const g = gaussian(next);
    for (let i = 0; i < offset + count; i++) {
      const { cluster, vector } = this.point(next, g);
      const s10 = next() < 0.1 ? 'y' : 'n';
      const s1 = next() < 0.01 ? 'y' : 'n';
      if (i < offset) continue;
      yield {
        id: `r${i}`,
        content: `row ${i} of cluster ${cluster}`,
        metadata: { cluster, s10, s1 },
        embedding: vector,
      };
    }
  }

  /** `count` query vectors from the same mixture, independent of the rows. */
  queries(count: number): Float32Array[] {
    const next = random(this.spec.seed + 2);
    const g = gaussian(next);
    return Array.from({ length: count }, () => this.point(next, g).vector);
  }
}

/** Cosine distance between unit vectors, as pgvector computes it (float4 inputs, double accumulation). */
export function cosineDistance(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return 1 - dot / Math.sqrt(na * nb);
}

/** Indexes of the k rows nearest to `q` by cosine distance, among the rows `accept` keeps (exact search). */
export function exactTopK(
  rows: readonly Float32Array[],
  q: Float32Array,
  k: number,
  accept: (i: number) => boolean = () => true,
): number[] {
  const best: { i: number; d: number }[] = [];
  for (let i = 0; i < rows.length; i++) {
    if (!accept(i)) continue;
    const d = cosineDistance(rows[i] as Float32Array, q);
    if (best.length < k || d < (best[best.length - 1] as { d: number }).d) {
      best.push({ i, d });
      best.sort((x, y) => x.d - y.d);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => b.i);
}

/** Fraction of `truth` found in `got` (recall@|truth|). */
export function recallOf(truth: readonly string[], got: readonly string[]): number {
  if (truth.length === 0) return 1;
  const set = new Set(got);
  return truth.filter((t) => set.has(t)).length / truth.length;
}
