import { describe, expect, it } from 'vitest';
import {
  efSearchForRecall,
  loadRecallProfile,
  parseRecallProfile,
  predicateKey,
  RECALL_PROFILE_MARKER,
  type RecallProfile,
  type RecallProfileEntry,
  readRecallProfile,
  recallProfileSql,
  serializeRecallProfile,
  withRecallProfile,
} from '../../src/store/recall-profile.js';

const ladder = (
  k: number,
  strategy: RecallProfileEntry['strategy'],
  points: [efSearch: number, recall: number, recallLow: number][],
): RecallProfileEntry[] =>
  points.map(([efSearch, recall, recallLow]) => ({ k, strategy, efSearch, recall, recallLow, queries: 200 }));

const profile: RecallProfile = {
  version: 1,
  index: 'documents_embedding_hnsw_idx',
  rows: 300_000,
  measuredAt: '2026-12-02T00:40:00.000Z',
  entries: [
    ...ladder(10, 'index', [
      [10, 0.71, 0.69],
      [20, 0.85, 0.83],
      [40, 0.93, 0.92],
      [80, 0.97, 0.96],
      [160, 0.99, 0.985],
    ]),
    ...ladder(50, 'index', [
      [40, 0.78, 0.77],
      [80, 0.92, 0.91],
      [160, 0.962, 0.955],
      [320, 0.985, 0.98],
    ]),
    ...ladder(10, 'iterative', [
      [40, 0.9, 0.88],
      [160, 0.97, 0.96],
    ]),
  ],
};

describe('serializeRecallProfile / parseRecallProfile', () => {
  it('round-trips, one line after the marker, entries sorted', () => {
    const text = serializeRecallProfile({ ...profile, entries: [...profile.entries].reverse() });
    expect(text.startsWith(`${RECALL_PROFILE_MARKER} {"version":1,`)).toBe(true);
    expect(text).not.toContain('\n');
    const parsed = parseRecallProfile(text);
    expect(parsed).toEqual({
      ...profile,
      entries: [...profile.entries].sort(
        (a, b) => a.strategy.localeCompare(b.strategy) || a.k - b.k || a.efSearch - b.efSearch,
      ),
    });
  });

  it('rounds recalls to 4 decimals and keeps recallLow ≤ recall', () => {
    const text = serializeRecallProfile({
      ...profile,
      entries: [{ k: 10, strategy: 'index', efSearch: 40, recall: 0.912345678, recallLow: 0.9, queries: 9 }],
    });
    expect(parseRecallProfile(text)?.entries[0]).toMatchObject({ recall: 0.9123, recallLow: 0.9 });
    // A lower bound is rounded down: 0.79996 must not read as reaching a target of 0.8.
    const bounds = serializeRecallProfile({
      ...profile,
      entries: [
        { k: 10, strategy: 'index', efSearch: 40, recall: 0.9, recallLow: 0.79996, queries: 9 },
        { k: 10, strategy: 'index', efSearch: 80, recall: 0.9, recallLow: 0.29, queries: 9 },
      ],
    });
    expect(parseRecallProfile(bounds)?.entries.map((e) => e.recallLow)).toEqual([0.7999, 0.29]);
  });

  it('refuses to serialize what it would not parse', () => {
    expect(() =>
      serializeRecallProfile({
        ...profile,
        entries: [{ k: 0, strategy: 'index', efSearch: 40, recall: 1, recallLow: 1, queries: 1 }],
      }),
    ).toThrow(TypeError);
  });

  it('finds the profile line among the owner’s lines, and replaces it in place of adding a second', () => {
    const line = serializeRecallProfile(profile);
    const comment = withRecallProfile('owned by search\nsee runbook 12', line);
    expect(comment).toBe(`owned by search\nsee runbook 12\n${line}`);
    expect(parseRecallProfile(comment)).toBeDefined();
    const again = withRecallProfile(comment, serializeRecallProfile({ ...profile, rows: 1 }));
    expect(again.split('\n')).toHaveLength(3);
    expect(parseRecallProfile(again)?.rows).toBe(1);
    expect(withRecallProfile(null, line)).toBe(line);
  });

  const good = JSON.parse(serializeRecallProfile(profile).slice(RECALL_PROFILE_MARKER.length));
  const malformed: [string, string | null | undefined, RegExp][] = [
    ['no comment', null, /no comment/],
    ['empty', '', /no comment/],
    ['someone else’s comment', 'HNSW for the search page', /holds no recall profile/],
    ['not JSON', `${RECALL_PROFILE_MARKER} {"version":1,`, /not JSON/],
    ['an array', `${RECALL_PROFILE_MARKER} []`, /not an object/],
    ['another version', `${RECALL_PROFILE_MARKER} ${JSON.stringify({ ...good, version: 2 })}`, /version 2/],
    [
      'unknown field',
      `${RECALL_PROFILE_MARKER} ${JSON.stringify({ ...good, extra: 1 })}`,
      /unknown fields extra/,
    ],
    ['bad time', `${RECALL_PROFILE_MARKER} ${JSON.stringify({ ...good, measuredAt: 'soon' })}`, /measuredAt/],
    [
      'efSearch over 1000',
      `${RECALL_PROFILE_MARKER} ${JSON.stringify({ ...good, entries: [{ ...good.entries[0], efSearch: 1001 }] })}`,
      /efSearch/,
    ],
    [
      'recall as a string',
      `${RECALL_PROFILE_MARKER} ${JSON.stringify({ ...good, entries: [{ ...good.entries[0], recall: '0.9' }] })}`,
      /recall must be/,
    ],
    [
      'recallLow above recall',
      `${RECALL_PROFILE_MARKER} ${JSON.stringify({ ...good, entries: [{ ...good.entries[0], recallLow: 1 }] })}`,
      /recallLow/,
    ],
    [
      'unknown strategy',
      `${RECALL_PROFILE_MARKER} ${JSON.stringify({ ...good, entries: [{ ...good.entries[0], strategy: 'exact' }] })}`,
      /strategy/,
    ],
    [
      'a repeated entry',
      `${RECALL_PROFILE_MARKER} ${JSON.stringify({ ...good, entries: [good.entries[0], good.entries[0]] })}`,
      /repeats/,
    ],
    [
      'two profile lines',
      `${serializeRecallProfile(profile)}\n${serializeRecallProfile(profile)}`,
      /more than one/,
    ],
  ];
  it.each(malformed)('ignores a malformed comment with a reason, never throws: %s', (_, text, reason) => {
    const reasons: string[] = [];
    expect(parseRecallProfile(text, (r) => reasons.push(r))).toBeUndefined();
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(reason);
    expect(readRecallProfile(text).reason).toMatch(reason);
  });
});

describe('efSearchForRecall', () => {
  it('takes the smallest measured ef_search whose lower bound reaches the recall at a tuned k', () => {
    expect(efSearchForRecall(profile, 10, 0.95, 'index')).toEqual({
      efSearch: 80,
      source: 'profile',
      recall: 0.97,
      recallLow: 0.96,
      fromK: 10,
      reached: true,
    });
    // 0.93 mean at 40 is not enough for 0.93: its lower bound is 0.92.
    expect(efSearchForRecall(profile, 10, 0.93, 'index').efSearch).toBe(80);
    expect(efSearchForRecall(profile, 10, 0.9, 'index').efSearch).toBe(40);
    expect(efSearchForRecall(profile, 50, 0.95, 'index')).toMatchObject({ efSearch: 160, source: 'profile' });
  });

  it('never returns a value below k, even when a smaller one reached the recall', () => {
    // At k 10, ef_search 10 reaches 0.69: asked for 0.5 the smallest value ≥ k is 10 itself.
    expect(efSearchForRecall(profile, 10, 0.5, 'index').efSearch).toBe(10);
    // At k 50, ef_search 40 (< k) is never chosen.
    expect(efSearchForRecall(profile, 50, 0.5, 'index')).toMatchObject({ efSearch: 80, reached: true });
  });

  it('takes the next larger tuned k for an untuned k, and scales above the largest', () => {
    expect(efSearchForRecall(profile, 20, 0.95, 'index')).toMatchObject({
      efSearch: 160,
      source: 'interpolated',
      fromK: 50,
      reached: true,
    });
    expect(efSearchForRecall(profile, 5, 0.95, 'index')).toMatchObject({ efSearch: 80, fromK: 10 });
    const above = efSearchForRecall(profile, 100, 0.95, 'index');
    expect(above).toMatchObject({ efSearch: 320, source: 'interpolated', fromK: 50 });
    expect(above.reason).toMatch(/scaled by 100\/50/);
    expect(efSearchForRecall(profile, 1000, 0.95, 'index').efSearch).toBe(1000);
  });

  it('returns the largest measured value, flagged, when nothing reached the recall', () => {
    const choice = efSearchForRecall(profile, 50, 0.99, 'index');
    expect(choice).toMatchObject({ efSearch: 320, source: 'profile', reached: false, recallLow: 0.98 });
    expect(choice.reason).toMatch(/no measured ef_search reached recall 0.99 at k 50/);
  });

  it('uses the iterative measurements for filtered searches, the unfiltered ones when there are none', () => {
    expect(efSearchForRecall(profile, 10, 0.95, 'iterative')).toMatchObject({
      efSearch: 160,
      source: 'profile',
    });
    const unfilteredOnly = { ...profile, entries: profile.entries.filter((e) => e.strategy === 'index') };
    const choice = efSearchForRecall(unfilteredOnly, 10, 0.95, 'iterative');
    expect(choice).toMatchObject({ efSearch: 80, source: 'interpolated', reached: true });
    expect(choice.reason).toMatch(/unfiltered/);
  });

  it('falls back to pgvector’s default, raised to k, without a profile', () => {
    expect(efSearchForRecall(undefined, 10, 0.95, 'index')).toEqual({
      efSearch: 40,
      source: 'default',
      reached: false,
      reason: 'no recall profile',
    });
    expect(efSearchForRecall(undefined, 100, 0.95).efSearch).toBe(100);
    const iterativeOnly = { ...profile, entries: profile.entries.filter((e) => e.strategy === 'iterative') };
    expect(efSearchForRecall(iterativeOnly, 10, 0.95, 'index')).toMatchObject({
      efSearch: 40,
      source: 'default',
    });
  });
});

describe('recallProfileSql / loadRecallProfile', () => {
  const target = {
    schema: 'public',
    table: 'documents',
    column: 'embedding',
    opclasses: ['vector_cosine_ops', 'halfvec_cosine_ops'],
  };

  it('binds every name; the text is constant', () => {
    const { text, values } = recallProfileSql(target);
    expect(values).toEqual(['public', 'documents', 'embedding', ['vector_cosine_ops', 'halfvec_cosine_ops']]);
    expect(text).toMatch(/obj_description\(c\.oid, 'pg_class'\) AS "comment"/);
    expect(text).toMatch(/n\.nspname = \$1 AND t\.relname = \$2/);
    expect(text).not.toContain('documents');
    expect(recallProfileSql({ ...target, table: "x'; DROP TABLE y; --" }).text).toBe(text);
  });

  it('reads the whole-table index’s profile, ignoring partial indexes and mismatched profiles', async () => {
    const line = serializeRecallProfile(profile);
    const rows = [
      { index: 'documents_embedding_article_hnsw_idx', method: 'hnsw', partial: true, comment: line },
      { index: 'documents_embedding_hnsw_idx', method: 'hnsw', partial: false, comment: line },
    ];
    const seen: unknown[] = [];
    const loaded = await loadRecallProfile(async (text, values) => {
      seen.push(text, values);
      return rows;
    }, target);
    expect(seen[0]).toBe(recallProfileSql(target).text);
    // The partial index's comment holds a profile measured on another index, and it has no predicate: none.
    expect(loaded).toEqual({ profile, index: 'documents_embedding_hnsw_idx', partials: new Map() });

    const other = await loadRecallProfile(
      async () => [{ index: 'renamed_idx', method: 'hnsw', partial: false, comment: line }],
      target,
    );
    expect(other).toMatchObject({ profile: undefined, index: 'renamed_idx' });
    expect(other.reason).toMatch(/measured on index documents_embedding_hnsw_idx, not renamed_idx/);
    expect(await loadRecallProfile(async () => [], target)).toMatchObject({
      profile: undefined,
      reason: 'the table has no whole-table vector index',
    });
    const bad = await loadRecallProfile(
      async () => [{ index: 'i', method: 'hnsw', partial: false, comment: `${RECALL_PROFILE_MARKER} {` }],
      target,
    );
    expect(bad.reason).toMatch(/not JSON/);
  });

  it('reads each partial index’s own profile, keyed by its predicate as PostgreSQL prints it', async () => {
    const own = { ...profile, index: 'documents_embedding_article_hnsw_idx' };
    const rows = [
      {
        index: 'documents_embedding_article_hnsw_idx',
        method: 'hnsw',
        partial: true,
        comment: serializeRecallProfile(own),
        predicate: "((metadata ->> 'type'::text) = 'article'::text)",
      },
      {
        index: 'documents_embedding_note_hnsw_idx',
        method: 'hnsw',
        partial: true,
        // Measured on the article index: not this one's.
        comment: serializeRecallProfile(own),
        predicate: "((metadata ->> 'type'::text) = 'note'::text)",
      },
    ];
    const loaded = await loadRecallProfile(async () => rows, target);
    // No whole-table index: no main profile, the partial one all the same.
    expect(loaded.profile).toBeUndefined();
    expect([...(loaded.partials?.keys() ?? [])]).toEqual([predicateKey(rows[0]!.predicate)]);
    // The store's literal form of the predicate (quoted column) finds it.
    expect(loaded.partials?.get(predicateKey(`(("metadata" ->> 'type'::text) = 'article'::text)`))).toEqual(
      own,
    );
    expect(predicateKey("((metadata ->> 'type'::text) = 'note'::text)")).not.toBe(
      predicateKey(rows[0]!.predicate),
    );
  });
});
