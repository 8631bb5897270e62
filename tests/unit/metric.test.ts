import { raw } from '@prisma/client/runtime/client';
import { describe, expect, it } from 'vitest';
import {
  distanceSql,
  distanceToSimilarity,
  INDEX_METHODS,
  indexMethodsFor,
  isMetric,
  METRIC_NAMES,
  METRICS,
  type Metric,
  maxDistanceFor,
  metricForOpclass,
  metricsFor,
  opclassFor,
  operatorFor,
  parseMetric,
  typesFor,
  VECTOR_TYPES,
  type VectorType,
} from '../../src/core/metric.js';
import { vectorParam } from '../../src/core/vector.js';
import { thrown } from '../support/pg-vector-error.js';

describe('metric table', () => {
  it('lists the six metrics in order', () => {
    expect(METRIC_NAMES).toEqual(['cosine', 'l2', 'innerProduct', 'l1', 'hamming', 'jaccard']);
  });

  it.each([
    ['cosine', '<=>'],
    ['l2', '<->'],
    ['innerProduct', '<#>'],
    ['l1', '<+>'],
    ['hamming', '<~>'],
    ['jaccard', '<%>'],
  ] as const)('%s uses %s', (metric, op) => {
    expect(operatorFor(metric)).toBe(op);
  });

  // Checked against the CREATE OPERATOR CLASS statements of pgvector 0.8.7 (vector--0.8.7.sql).
  const expected: [Metric, VectorType, string, string[]][] = [
    ['cosine', 'vector', 'vector_cosine_ops', ['hnsw', 'ivfflat']],
    ['cosine', 'halfvec', 'halfvec_cosine_ops', ['hnsw', 'ivfflat']],
    ['cosine', 'sparsevec', 'sparsevec_cosine_ops', ['hnsw']],
    ['l2', 'vector', 'vector_l2_ops', ['hnsw', 'ivfflat']],
    ['l2', 'halfvec', 'halfvec_l2_ops', ['hnsw', 'ivfflat']],
    ['l2', 'sparsevec', 'sparsevec_l2_ops', ['hnsw']],
    ['innerProduct', 'vector', 'vector_ip_ops', ['hnsw', 'ivfflat']],
    ['innerProduct', 'halfvec', 'halfvec_ip_ops', ['hnsw', 'ivfflat']],
    ['innerProduct', 'sparsevec', 'sparsevec_ip_ops', ['hnsw']],
    ['l1', 'vector', 'vector_l1_ops', ['hnsw']],
    ['l1', 'halfvec', 'halfvec_l1_ops', ['hnsw']],
    ['l1', 'sparsevec', 'sparsevec_l1_ops', ['hnsw']],
    ['hamming', 'bit', 'bit_hamming_ops', ['hnsw', 'ivfflat']],
    ['jaccard', 'bit', 'bit_jaccard_ops', ['hnsw']],
  ];

  it.each(expected)('%s on %s → %s via %j', (metric, type, opclass, methods) => {
    expect(opclassFor(metric, type)).toBe(opclass);
    expect(indexMethodsFor(metric, type)).toEqual(methods);
    for (const method of methods)
      expect(opclassFor(metric, type, method as 'hnsw' | 'ivfflat')).toBe(opclass);
    expect(metricForOpclass(opclass)).toEqual({ metric, type });
  });

  it('has no other combinations', () => {
    const all = METRIC_NAMES.flatMap((m) =>
      VECTOR_TYPES.filter((t) => indexMethodsFor(m, t).length > 0).map((t) => `${m}/${t}`),
    );
    expect(all).toEqual(expected.map(([m, t]) => `${m}/${t}`));
  });

  it('answers which metrics a type and method support', () => {
    expect(metricsFor('bit')).toEqual(['hamming', 'jaccard']);
    expect(metricsFor('bit', 'ivfflat')).toEqual(['hamming']);
    expect(metricsFor('vector', 'ivfflat')).toEqual(['cosine', 'l2', 'innerProduct']);
    expect(metricsFor('sparsevec', 'ivfflat')).toEqual([]);
    expect(metricsFor('halfvec', 'hnsw')).toEqual(['cosine', 'l2', 'innerProduct', 'l1']);
    expect(typesFor('cosine')).toEqual(['vector', 'halfvec', 'sparsevec']);
    expect(typesFor('jaccard')).toEqual(['bit']);
    expect(INDEX_METHODS).toEqual(['hnsw', 'ivfflat']);
  });

  it('records the pgvector version that introduced each metric', () => {
    expect(METRICS.cosine.since).toBe('0.5.0');
    expect(METRICS.l1.since).toBe('0.7.0');
    expect(METRICS.hamming.since).toBe('0.7.0');
  });

  it('returns undefined for a foreign operator class', () => {
    expect(metricForOpclass('jsonb_path_ops')).toBeUndefined();
  });
});

describe('opclassFor errors', () => {
  it('names the metrics a type supports when the metric does not apply', () => {
    const e = thrown(() => opclassFor('cosine', 'bit'));
    expect(e.code).toBe('INVALID_CONFIG');
    expect(e.message).toContain(
      "metric 'cosine' is not available for type 'bit'; 'bit' supports: 'hamming', 'jaccard'",
    );
    expect(e.fix).toBe(
      "use one of those metrics, or store the embedding as 'vector', 'halfvec', 'sparsevec'",
    );
  });

  it('names the types a bit metric needs', () => {
    const e = thrown(() => opclassFor('hamming', 'vector'));
    expect(e.message).toContain("'vector' supports: 'cosine', 'l2', 'innerProduct', 'l1'");
    expect(e.fix).toContain("store the embedding as 'bit'");
  });

  it('names the method to use when the index method lacks the metric', () => {
    const e = thrown(() => opclassFor('l1', 'vector', 'ivfflat'));
    expect(e.code).toBe('INVALID_CONFIG');
    expect(e.message).toContain(
      "index method 'ivfflat' does not support metric 'l1' on type 'vector'; 'ivfflat' on 'vector' supports: 'cosine', 'l2', 'innerProduct'",
    );
    expect(e.fix).toBe("use 'hnsw' for 'l1'");
  });

  it('reports that IVFFlat has nothing for sparsevec', () => {
    const e = thrown(() => opclassFor('cosine', 'sparsevec', 'ivfflat'));
    expect(e.message).toContain("'ivfflat' on 'sparsevec' supports: (none)");
  });

  it('rejects jaccard on IVFFlat', () => {
    expect(thrown(() => opclassFor('jaccard', 'bit', 'ivfflat')).message).toContain("supports: 'hamming'");
  });
});

describe('parseMetric / isMetric', () => {
  it('accepts every metric name', () => {
    for (const m of METRIC_NAMES) expect(parseMetric(m)).toBe(m);
    expect(isMetric('innerProduct')).toBe(true);
  });

  it('rejects others with the list of valid names', () => {
    expect(isMetric('dot')).toBe(false);
    expect(isMetric('toString')).toBe(false);
    expect(isMetric(3)).toBe(false);
    const e = thrown(() => parseMetric('dot'));
    expect(e.code).toBe('INVALID_CONFIG');
    expect(e.message).toBe(
      "unknown metric 'dot'; valid metrics: 'cosine', 'l2', 'innerProduct', 'l1', 'hamming', 'jaccard'",
    );
    expect(thrown(() => parseMetric(undefined)).message).toContain('unknown metric undefined;');
  });
});

describe('distanceSql', () => {
  it.each([
    ['cosine', '<=>'],
    ['l2', '<->'],
    ['innerProduct', '<#>'],
    ['l1', '<+>'],
  ] as const)('%s: "embedding" %s $1::vector(3)', (metric, op) => {
    const q = vectorParam([1, 2, 3], 'vector', 3);
    const s = distanceSql(metric, raw('"embedding"'), q);
    expect(s.text).toBe(`"embedding" ${op} $1::vector(3)`);
    expect(s.values).toEqual(['[1,2,3]']);
  });

  it.each([
    ['hamming', '<~>'],
    ['jaccard', '<%>'],
  ] as const)('%s: "embedding" %s $1::bit(4)', (metric, op) => {
    const s = distanceSql(metric, raw('"embedding"'), vectorParam('1010', 'bit', 4));
    expect(s.text).toBe(`"embedding" ${op} $1::bit(4)`);
    expect(s.values).toEqual(['1010']);
  });
});

describe('distanceToSimilarity / maxDistanceFor', () => {
  it('converts each metric as documented', () => {
    expect(distanceToSimilarity('cosine', 0.25)).toBe(0.75);
    expect(distanceToSimilarity('cosine', 2)).toBe(-1);
    expect(distanceToSimilarity('innerProduct', -3.5)).toBe(3.5);
    expect(distanceToSimilarity('l2', 0)).toBe(1);
    expect(distanceToSimilarity('l2', 1)).toBe(0.5);
    expect(distanceToSimilarity('l1', 3)).toBe(0.25);
    expect(distanceToSimilarity('hamming', 8, 64)).toBe(0.875);
    expect(distanceToSimilarity('jaccard', 0.25)).toBe(0.75);
  });

  it('inverts the conversion', () => {
    expect(maxDistanceFor('cosine', 0.75)).toBe(0.25);
    expect(maxDistanceFor('innerProduct', 0.5)).toBe(-0.5);
    expect(maxDistanceFor('l2', 0.5)).toBe(1);
    expect(maxDistanceFor('l1', 0.25)).toBe(3);
    expect(maxDistanceFor('hamming', 0.75, 64)).toBe(16);
    expect(maxDistanceFor('jaccard', 0.75)).toBe(0.25);
    for (const m of METRIC_NAMES) {
      for (const s of [0.1, 0.5, 0.9]) {
        expect(distanceToSimilarity(m, maxDistanceFor(m, s, 128), 128)).toBeCloseTo(s, 12);
      }
    }
  });

  it('returns Infinity when every distance qualifies and a negative bound when none can', () => {
    expect(maxDistanceFor('l2', 0)).toBe(Number.POSITIVE_INFINITY);
    expect(maxDistanceFor('l1', -1)).toBe(Number.POSITIVE_INFINITY);
    expect(maxDistanceFor('l2', 2)).toBe(-0.5);
    expect(maxDistanceFor('hamming', 1.5, 8)).toBe(-4);
  });

  it('needs dims for hamming and finite numbers everywhere', () => {
    expect(thrown(() => distanceToSimilarity('hamming', 3)).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => maxDistanceFor('hamming', 0.5, 0)).message).toContain('bit length (dims), got 0');
    expect(thrown(() => distanceToSimilarity('cosine', Number.NaN)).message).toBe(
      'distance must be a finite number, got NaN',
    );
    expect(thrown(() => maxDistanceFor('cosine', Number.POSITIVE_INFINITY)).message).toBe(
      'minSimilarity must be a finite number, got Infinity',
    );
  });
});
