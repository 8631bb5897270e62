/**
 * A recall profile: what the tuner measured on a vector index — for each k an app uses and each scan
 * strategy, the smallest `hnsw.ef_search` whose recall@k against exact search reached each target, with a
 * confidence bound. `prisma-pgvector tune --persist index` stores it as the vector index's comment; a store
 * created with `recall: 0.95` reads it and picks its settings from it (see `efSearchForRecall`).
 *
 * CONTRACT (shared by the tuner and the store): the types below. Implementation of the functions is owned by
 * the tuner work (parse / serialize / read SQL) and used by the search path.
 *
 * Plain TypeScript: no database driver, no Prisma runtime — the store's main door imports it.
 *
 * The comment's format: one line `prisma-pgvector:recall-profile {json}` (the JSON of a {@link RecallProfile},
 * no line breaks). Text of the index's comment on other lines is the owner's and is kept by the tuner.
 */

/** How a search reaches its rows (see the store's search planner). */
export type SearchStrategy = 'index' | 'iterative' | 'partial' | 'exact';

/** One measurement: at `k`, with `strategy`, `efSearch` reached `recall` (mean recall@k over `queries`). */
export interface RecallProfileEntry {
  readonly k: number;
  /** `index`: unfiltered HNSW scan; `iterative`: filtered, iterative scan. */
  readonly strategy: 'index' | 'iterative';
  readonly efSearch: number;
  /** Mean recall@k against exact search. */
  readonly recall: number;
  /** Lower bound of the 95% confidence interval of `recall`. */
  readonly recallLow: number;
  /** Queries measured. */
  readonly queries: number;
}

/** A tuner's measurements on one index. */
export interface RecallProfile {
  readonly version: 1;
  /** The vector index it was measured on (unquoted name). */
  readonly index: string;
  /** Rows in the table when measured (`reltuples`). */
  readonly rows: number;
  /** ISO time of the measurement. */
  readonly measuredAt: string;
  readonly entries: readonly RecallProfileEntry[];
}

/** The marker that starts the profile's line in an index comment. */
export const RECALL_PROFILE_MARKER = 'prisma-pgvector:recall-profile';

/** pgvector's default `hnsw.ef_search`. */
const PGVECTOR_DEFAULT_EF_SEARCH = 40;
/** Largest `hnsw.ef_search` pgvector accepts. */
const MAX_EF_SEARCH = 1000;

/** What reading a comment gave: the profile, or why there is none. Never throws. */
export type RecallProfileReading =
  | { readonly profile: RecallProfile; readonly reason?: undefined }
  | { readonly profile: undefined; readonly reason: string };

const ENTRY_KEYS = ['k', 'strategy', 'efSearch', 'recall', 'recallLow', 'queries'] as const;
const PROFILE_KEYS = ['version', 'index', 'rows', 'measuredAt', 'entries'] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function intIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function unitInterval(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1;
}

function checkEntry(value: unknown, at: number): string | undefined {
  if (!isObject(value)) return `entries[${at}] is not an object`;
  const extra = Object.keys(value).filter((key) => !(ENTRY_KEYS as readonly string[]).includes(key));
  if (extra.length > 0) return `entries[${at}] has unknown fields ${extra.join(', ')}`;
  if (!intIn(value.k, 1, MAX_EF_SEARCH)) return `entries[${at}].k must be an integer from 1 to 1000`;
  if (value.strategy !== 'index' && value.strategy !== 'iterative')
    return `entries[${at}].strategy must be "index" or "iterative"`;
  if (!intIn(value.efSearch, 1, MAX_EF_SEARCH))
    return `entries[${at}].efSearch must be an integer from 1 to 1000`;
  if (!unitInterval(value.recall)) return `entries[${at}].recall must be in [0, 1]`;
  if (!unitInterval(value.recallLow) || value.recallLow > value.recall)
    return `entries[${at}].recallLow must be in [0, recall]`;
  if (!intIn(value.queries, 1, Number.MAX_SAFE_INTEGER))
    return `entries[${at}].queries must be a positive integer`;
  return undefined;
}

/**
 * Reads an index comment: the profile on the line that starts with {@link RECALL_PROFILE_MARKER}, strictly
 * validated (every field of the contract, of the right type and range, nothing unknown; one entry per k,
 * strategy and efSearch), or the reason it was ignored. Never throws.
 *
 * ### Examples
 * ```ts
 * readRecallProfile('prisma-pgvector:recall-profile {"version":1,…}').profile; // RecallProfile
 * readRecallProfile('owned by the search team').reason; // 'the comment holds no recall profile'
 * ```
 */
export function readRecallProfile(commentText: string | null | undefined): RecallProfileReading {
  if (typeof commentText !== 'string' || commentText === '')
    return { profile: undefined, reason: 'the index has no comment' };
  const lines = commentText.split('\n').filter((line) => line.startsWith(RECALL_PROFILE_MARKER));
  if (lines.length === 0) return { profile: undefined, reason: 'the comment holds no recall profile' };
  if (lines.length > 1)
    return { profile: undefined, reason: 'the comment holds more than one recall profile' };
  const json = lines[0]!.slice(RECALL_PROFILE_MARKER.length).trim();
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return {
      profile: undefined,
      reason: `the recall profile is not JSON (${error instanceof Error ? error.message : String(error)})`,
    };
  }
  const reason = checkProfile(value);
  if (reason !== undefined) return { profile: undefined, reason: `malformed recall profile: ${reason}` };
  // Frozen: what was read is what every search chooses from (and may remember its choices for).
  const profile = value as RecallProfile;
  for (const entry of profile.entries) Object.freeze(entry);
  Object.freeze(profile.entries);
  return { profile: Object.freeze(profile) };
}

function checkProfile(value: unknown): string | undefined {
  if (!isObject(value)) return 'not an object';
  if (value.version !== 1) return `version ${JSON.stringify(value.version)} is not supported (1 is)`;
  const extra = Object.keys(value).filter((key) => !(PROFILE_KEYS as readonly string[]).includes(key));
  if (extra.length > 0) return `unknown fields ${extra.join(', ')}`;
  if (typeof value.index !== 'string' || value.index === '') return 'index must be a non-empty string';
  if (!intIn(value.rows, 0, Number.MAX_SAFE_INTEGER)) return 'rows must be a non-negative integer';
  if (typeof value.measuredAt !== 'string' || Number.isNaN(Date.parse(value.measuredAt)))
    return 'measuredAt must be an ISO time';
  if (!Array.isArray(value.entries)) return 'entries must be a list';
  const seen = new Set<string>();
  for (const [at, entry] of value.entries.entries()) {
    const problem = checkEntry(entry, at);
    if (problem !== undefined) return problem;
    const e = entry as RecallProfileEntry;
    const key = `${e.k}/${e.strategy}/${e.efSearch}`;
    if (seen.has(key)) return `entries[${at}] repeats k ${e.k}, ${e.strategy}, efSearch ${e.efSearch}`;
    seen.add(key);
  }
  return undefined;
}

/**
 * The profile in an index comment, or `undefined` when the comment holds none or a malformed one (the reason
 * goes to `onIgnored`). Never throws: a bad comment must not break a search.
 *
 * ### Examples
 * ```ts
 * const profile = parseRecallProfile(comment, (reason) => warnings.push(reason));
 * ```
 */
export function parseRecallProfile(
  commentText: string | null | undefined,
  onIgnored?: (reason: string) => void,
): RecallProfile | undefined {
  const reading = readRecallProfile(commentText);
  if (reading.profile === undefined) onIgnored?.(reading.reason);
  return reading.profile;
}

/**
 * The profile's line for an index comment: `prisma-pgvector:recall-profile {json}`, entries sorted by
 * strategy, k and efSearch. Throws `TypeError` on a profile that {@link parseRecallProfile} would refuse.
 *
 * ### Examples
 * ```ts
 * serializeRecallProfile(profile);
 * // prisma-pgvector:recall-profile {"version":1,"index":"documents_embedding_hnsw_idx","rows":300000,…}
 * ```
 */
export function serializeRecallProfile(profile: RecallProfile): string {
  const entries = [...profile.entries]
    .sort((a, b) => a.strategy.localeCompare(b.strategy) || a.k - b.k || a.efSearch - b.efSearch)
    .map((e) => ({
      k: e.k,
      strategy: e.strategy,
      efSearch: e.efSearch,
      recall: round(e.recall),
      // A lower bound rounded down: rounded to nearest, 0.79996 became 0.8 and read as reaching a target
      // of 0.8 that the tuner's own figure did not reach.
      recallLow: Math.min(roundDown(e.recallLow), round(e.recall)),
      queries: e.queries,
    }));
  const value: RecallProfile = {
    version: 1,
    index: profile.index,
    rows: profile.rows,
    measuredAt: profile.measuredAt,
    entries,
  };
  const problem = checkProfile(value);
  if (problem !== undefined) throw new TypeError(`not a valid recall profile: ${problem}`);
  return `${RECALL_PROFILE_MARKER} ${JSON.stringify(value)}`;
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** Down to 4 decimals (the epsilon keeps 0.29, stored as 0.28999…, at 0.29). */
function roundDown(x: number): number {
  return Math.floor(x * 10_000 + 1e-9) / 10_000;
}

/**
 * The comment text with the profile line replaced by `profileLine` (or added after the owner's text), for
 * `COMMENT ON INDEX`. Lines of the owner's text are kept as they were.
 */
export function withRecallProfile(commentText: string | null | undefined, profileLine: string): string {
  const kept = (commentText ?? '')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith(RECALL_PROFILE_MARKER));
  return [...kept, profileLine].join('\n');
}

/** Where a store looks for its profile: the vector index on this column with this metric's opclass. */
export interface RecallProfileTarget {
  /** Schema of the table (unquoted). */
  readonly schema: string;
  /** Table (unquoted). */
  readonly table: string;
  /** Vector column (unquoted). */
  readonly column: string;
  /** Operator classes of the store's metric (e.g. `['vector_cosine_ops', 'halfvec_cosine_ops']`). */
  readonly opclasses: readonly string[];
}

/** A statement with positional parameters (`$1`, `$2`, …), as `pg` and `$queryRawUnsafe` take it. */
export interface ProfileQuery {
  readonly text: string;
  readonly values: readonly unknown[];
}

/** A row of {@link recallProfileSql}. */
export interface RecallProfileRow {
  readonly index: string;
  readonly method: string;
  readonly partial: boolean;
  readonly comment: string | null;
  /** A partial index's predicate as PostgreSQL prints it (`pg_get_expr`); `null` for a whole-table index. */
  readonly predicate?: string | null;
}

/**
 * The SQL that reads the comments of the table's vector indexes on `column` with one of `opclasses` (HNSW or
 * IVFFlat; the column itself or an expression on it, e.g. a `halfvec` cast), whole-table indexes first. The
 * text is constant; every name is a bind parameter.
 *
 * ### Examples
 * ```ts
 * const { text, values } = recallProfileSql({ schema: 'public', table: 'documents', column: 'embedding',
 *   opclasses: ['vector_cosine_ops'] });
 * const { rows } = await client.query(text, [...values]);
 * ```
 *
 * The generated SQL (PostgreSQL):
 * ```sql
 * SELECT c.relname AS "index", am.amname AS "method", (i.indpred IS NOT NULL) AS "partial",
 *        obj_description(c.oid, 'pg_class') AS "comment"
 *   FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
 *   JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
 *   JOIN pg_opclass o ON o.oid = i.indclass[0]
 *  WHERE n.nspname = $1 AND t.relname = $2 AND am.amname IN ('hnsw', 'ivfflat') AND o.opcname = ANY ($4::text[])
 *    AND (i.indkey[0] = (SELECT attnum FROM pg_attribute WHERE attrelid = t.oid AND attname = $3)
 *         OR (i.indkey[0] = 0 AND pg_get_indexdef(c.oid, 1, true) ~ …$3…))
 *  ORDER BY (i.indpred IS NOT NULL), (am.amname <> 'hnsw'), c.relname
 * ```
 */
export function recallProfileSql(target: RecallProfileTarget): ProfileQuery {
  return {
    text: `SELECT c.relname AS "index", am.amname AS "method", (i.indpred IS NOT NULL) AS "partial",
       obj_description(c.oid, 'pg_class') AS "comment", pg_get_expr(i.indpred, i.indrelid) AS "predicate"
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_am am ON am.oid = c.relam
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  JOIN pg_opclass o ON o.oid = i.indclass[0]
 WHERE n.nspname = $1 AND t.relname = $2 AND am.amname IN ('hnsw', 'ivfflat')
   AND o.opcname = ANY ($4::text[])
   AND (i.indkey[0] = (SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = $3)
        OR (i.indkey[0] = 0 AND pg_get_indexdef(c.oid, 1, true) ~ ('(^|[^a-zA-Z0-9_$"])(' || quote_ident($3) || ')([^a-zA-Z0-9_$"]|$)')))
 ORDER BY (i.indpred IS NOT NULL), (am.amname <> 'hnsw'), c.relname`,
    values: [target.schema, target.table, target.column, [...target.opclasses]],
  };
}

/** What {@link loadRecallProfile} found: the profile and its index, or why there is none. */
export interface LoadedRecallProfile {
  readonly profile: RecallProfile | undefined;
  /** The whole-table vector index read (`undefined` when the table has none). */
  readonly index: string | undefined;
  /** Why there is no profile (no index, no comment, a malformed one). */
  readonly reason?: string | undefined;
  /**
   * The profiles of partial vector indexes (measured by `tune` with a filter that the index's predicate
   * serves), keyed by the predicate as {@link predicateKey} writes it. A partial index is a graph of its own,
   * far smaller than the table's: its ef_search for a recall is its own.
   */
  readonly partials?: ReadonlyMap<string, RecallProfile>;
}

/**
 * A partial index predicate, compared loosely: without double quotes (PostgreSQL prints an identifier
 * unquoted when it may), whitespace and parentheses, e.g. `((metadata ->> 's1'::text) = 'y'::text)` and
 * `(("metadata" ->> 's1'::text) = 'y'::text)` both give `metadata->>'s1'::text='y'::text`.
 */
export function predicateKey(predicate: string): string {
  return predicate.replace(/["()\s]/g, '');
}

/**
 * Reads the recall profile of the table's whole-table vector index through `query` (any client: `pg`, a
 * pool, `$queryRawUnsafe` with the constant text and bind values), and those of its partial vector indexes
 * (`partials`). Never throws for a missing or malformed profile (a failing query rejects as the client does).
 *
 * ### Examples
 * ```ts
 * const loaded = await loadRecallProfile(async (text, values) => (await pool.query(text, [...values])).rows,
 *   { schema: 'public', table: 'documents', column: 'embedding', opclasses: ['vector_cosine_ops'] });
 * ```
 */
export async function loadRecallProfile(
  query: (text: string, values: readonly unknown[]) => Promise<readonly RecallProfileRow[]>,
  target: RecallProfileTarget,
): Promise<LoadedRecallProfile> {
  const { text, values } = recallProfileSql(target);
  const rows = await query(text, values);
  const partials = new Map<string, RecallProfile>();
  for (const other of rows) {
    if (!other.partial || typeof other.predicate !== 'string') continue;
    const own = readRecallProfile(other.comment).profile;
    if (own !== undefined && own.index === other.index) partials.set(predicateKey(other.predicate), own);
  }
  const row = rows.find((r) => !r.partial);
  if (row === undefined)
    return {
      profile: undefined,
      index: undefined,
      reason: 'the table has no whole-table vector index',
      partials,
    };
  const reading = readRecallProfile(row.comment);
  if (reading.profile === undefined)
    return { profile: undefined, index: row.index, reason: reading.reason, partials };
  if (reading.profile.index !== row.index) {
    return {
      profile: undefined,
      index: row.index,
      reason: `the recall profile was measured on index ${reading.profile.index}, not ${row.index}`,
      partials,
    };
  }
  return { profile: reading.profile, index: row.index, partials };
}

/** The ef_search {@link efSearchForRecall} chose, and where it comes from. */
export interface EfSearchChoice {
  readonly efSearch: number;
  /**
   * `profile`: measured at this k and strategy; `interpolated`: taken from another k (or the unfiltered
   * strategy for a filtered search); `default`: nothing measured, pgvector's default raised to k.
   */
  readonly source: 'profile' | 'interpolated' | 'default';
  /** Mean recall measured at the chosen entry (at `fromK`, for an interpolated choice). */
  readonly recall?: number;
  /** Its 95% lower bound. */
  readonly recallLow?: number;
  /** The tuned k the value comes from. */
  readonly fromK?: number;
  /** Whether a measured value reached the wanted recall (false: the largest measured, or the default). */
  readonly reached: boolean;
  /** Why the value is not a direct measurement, when it is not. */
  readonly reason?: string;
}

/**
 * The smallest measured `hnsw.ef_search` whose recall at `k` reached `recall` — on the lower bound of its 95%
 * interval, the tuner's own rule — for `strategy`. A k that was not tuned takes the next larger tuned k's value
 * (an ef_search that reaches the recall at a larger k reaches it at a smaller one), or, above every tuned k,
 * the nearest one's value scaled by k / tunedK. A filtered (`iterative`) search without iterative
 * measurements takes the unfiltered ones. The result is never below k (a scan returns at most ef_search rows)
 * nor above 1000; when nothing reached the recall it is the largest measured value with `reached: false`.
 * Without a profile: pgvector's default 40, raised to k, `source: 'default'`.
 *
 * ### Examples
 * ```ts
 * efSearchForRecall(profile, 10, 0.95, 'index');  // { efSearch: 80, source: 'profile', recall: 0.968, … }
 * efSearchForRecall(profile, 20, 0.95, 'index');  // k 20 untuned, k 50 tuned: its value, 'interpolated'
 * efSearchForRecall(undefined, 100, 0.95, 'index'); // { efSearch: 100, source: 'default', reached: false }
 * ```
 */
export function efSearchForRecall(
  profile: RecallProfile | undefined,
  k: number,
  recall: number,
  strategy: RecallProfileEntry['strategy'] = 'index',
): EfSearchChoice {
  if (profile === undefined || !Object.isFrozen(profile) || !Object.isFrozen(profile.entries)) {
    return chooseEfSearch(profile, k, recall, strategy);
  }
  // Asked on every search with a recall target: of a frozen profile (as read), the choice is remembered.
  let chosen = CHOICES.get(profile);
  if (chosen === undefined) {
    chosen = new Map();
    CHOICES.set(profile, chosen);
  }
  const key = `${k}\u0000${recall}\u0000${strategy}`;
  let choice = chosen.get(key);
  if (choice === undefined) {
    choice = chooseEfSearch(profile, k, recall, strategy);
    if (chosen.size < 256) chosen.set(key, choice);
  }
  return choice;
}

const CHOICES = new WeakMap<RecallProfile, Map<string, EfSearchChoice>>();

function chooseEfSearch(
  profile: RecallProfile | undefined,
  k: number,
  recall: number,
  strategy: RecallProfileEntry['strategy'],
): EfSearchChoice {
  const atLeastK = (value: number) => Math.min(MAX_EF_SEARCH, Math.max(k, Math.ceil(value)));
  const fallback = (reason: string): EfSearchChoice => ({
    efSearch: atLeastK(PGVECTOR_DEFAULT_EF_SEARCH),
    source: 'default',
    reached: false,
    reason,
  });
  if (profile === undefined) return fallback('no recall profile');
  let entries = profile.entries.filter((e) => e.strategy === strategy);
  let strategyNote: string | undefined;
  if (entries.length === 0 && strategy === 'iterative') {
    entries = profile.entries.filter((e) => e.strategy === 'index');
    strategyNote = 'no filtered (iterative) measurements: the unfiltered ones are used';
  }
  if (entries.length === 0) return fallback(`the recall profile has no ${strategy} measurements`);

  const ks = [...new Set(entries.map((e) => e.k))].sort((a, b) => a - b);
  const larger = ks.find((tuned) => tuned >= k);
  const fromK = larger ?? ks[ks.length - 1]!;
  const ladder = entries.filter((e) => e.k === fromK).sort((a, b) => a.efSearch - b.efSearch);
  const hit = ladder.find((e) => e.efSearch >= fromK && e.recallLow >= recall);
  const entry = hit ?? ladder[ladder.length - 1]!;
  const scaled = larger === undefined ? (entry.efSearch * k) / fromK : entry.efSearch;
  const notes: string[] = [];
  if (strategyNote !== undefined) notes.push(strategyNote);
  if (fromK !== k)
    notes.push(
      larger === undefined
        ? `k ${k} was not tuned: k ${fromK}'s value scaled by ${k}/${fromK}`
        : `k ${k} was not tuned: k ${fromK}'s value`,
    );
  if (hit === undefined)
    notes.push(
      `no measured ef_search reached recall ${recall} at k ${fromK} (best lower bound ${Math.max(...ladder.map((e) => e.recallLow)).toFixed(3)}): the largest measured is used`,
    );
  const efSearch = atLeastK(scaled);
  if (efSearch > entry.efSearch && fromK === k && hit !== undefined) notes.push(`raised to k ${k}`);
  return {
    efSearch,
    source: fromK === k && strategyNote === undefined ? 'profile' : 'interpolated',
    recall: entry.recall,
    recallLow: entry.recallLow,
    fromK,
    reached: hit !== undefined,
    ...(notes.length > 0 ? { reason: notes.join('; ') } : {}),
  };
}
