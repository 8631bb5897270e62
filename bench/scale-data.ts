/**
 * The scale benchmark's tables: clustered vectors (bench/dataset.ts Mixture) with metadata of known
 * selectivity, loaded with binary COPY into tables named by dimension, size and seed, and the indexes a
 * production table would have. Every step (load, VACUUM ANALYZE, each index) is recorded with its duration in
 * `scale_steps`; a table is complete when all its steps are there, and a later run reuses it as it is.
 *
 * Metadata per row (independent of the cluster, from a random stream of its own):
 * - `tenant`: `t0` … `t999`, uniform (0.1% each);
 * - `s10` = 'y' on 10%, `s1` = 'y' on 1% (from the Mixture);
 * - `price`: a JSON number uniform in [0, 1000) (two decimals): ranges of 10%, 1%, 0.1%;
 * - `day`: an ISO date `YYYY-MM-DD` uniform over 2023-01-01 … 2025-12-31 (1,096 days);
 * - column `created_at`: a time uniform over the same span (independent of `day`).
 */

import type pg from 'pg';
import {
  metadataNumberExpression,
  metadataStringExpression,
  metadataTextExpression,
} from '../src/core/filter-expressions.js';
import { Mixture, type MixtureSpec, random } from './dataset.js';
import { copyFrom, vectorBinary } from './pg-copy.js';

/** Mixture parameters of every scale table (only `dims` and the row count differ). */
export const SCALE_MIXTURE = {
  clusters: Number(process.env.SCALE_CLUSTERS ?? 200),
  spread: Number(process.env.SCALE_SPREAD ?? 0.9),
  seed: Number(process.env.SCALE_SEED ?? 42),
} as const;

/** First day of the metadata's time span, and its length in days. */
export const SPAN_START = Date.UTC(2023, 0, 1);
export const SPAN_DAYS = 1096;
const DAY_MS = 86_400_000;

/** One scale table: dimensions and rows (same mixture parameters for all). */
export interface ScaleTable {
  readonly dims: number;
  readonly rows: number;
}

/** `scale_384d_1000000_s42`. */
export function scaleTableName(t: ScaleTable): string {
  return `scale_${t.dims}d_${t.rows}_s${SCALE_MIXTURE.seed}`;
}

export function mixtureOf(dims: number): MixtureSpec {
  return { dims, ...SCALE_MIXTURE };
}

export interface ScaleMeta {
  readonly cluster: number;
  readonly s10: 'y' | 'n';
  readonly s1: 'y' | 'n';
  readonly tenant: string;
  readonly price: number;
  readonly day: string;
}

export interface ScaleRow {
  readonly id: string;
  readonly content: string;
  readonly metadata: ScaleMeta;
  readonly embedding: Float32Array;
  readonly createdAt: number;
}

/** The rows of a table (a prefix of the same stream for every size of one dimension). */
export function* scaleRows(dims: number, count: number): Generator<ScaleRow> {
  const next = random(SCALE_MIXTURE.seed + 101);
  for (const row of new Mixture(mixtureOf(dims)).rows(count)) {
    const tenant = `t${Math.floor(next() * 1000)}`;
    const price = Math.floor(next() * 100_000) / 100;
    const day = new Date(SPAN_START + Math.floor(next() * SPAN_DAYS) * DAY_MS).toISOString().slice(0, 10);
    const createdAt = SPAN_START + Math.floor(next() * SPAN_DAYS * DAY_MS);
    yield {
      id: row.id,
      content: `row ${row.id.slice(1)}`,
      metadata: { ...row.metadata, tenant, price, day },
      embedding: row.embedding,
      createdAt,
    };
  }
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

/** Binary COPY of `(id, content, metadata, embedding, created_at)`. */
export function encodeScaleCopy(rows: readonly ScaleRow[]): Buffer {
  const parts: Buffer[] = [SIGNATURE, Buffer.alloc(8)];
  for (const row of rows) {
    const fields = [
      Buffer.from(row.id, 'utf8'),
      Buffer.from(row.content, 'utf8'),
      Buffer.from(`\x01${JSON.stringify(row.metadata)}`, 'utf8'),
      vectorBinary(row.embedding),
    ];
    const ts = Buffer.allocUnsafe(8);
    ts.writeBigInt64BE(BigInt(row.createdAt - PG_EPOCH_MS) * 1000n, 0);
    fields.push(ts);
    const head = Buffer.allocUnsafe(2);
    head.writeInt16BE(fields.length, 0);
    parts.push(head);
    for (const field of fields) {
      const len = Buffer.allocUnsafe(4);
      len.writeInt32BE(field.length, 0);
      parts.push(len, field);
    }
  }
  const trailer = Buffer.allocUnsafe(2);
  trailer.writeInt16BE(-1, 0);
  parts.push(trailer);
  return Buffer.concat(parts);
}

/** CREATE TABLE shaped like the `documents` migration. */
export function scaleTableSql(table: string, dims: number): string {
  return `CREATE TABLE "${table}" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "content" TEXT NOT NULL,
    "metadata" JSONB,
    "embedding" vector(${dims}),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
  )`;
}

const M = '"metadata"';
/** The expressions the filter compiler emits (src/core/filter-expressions.ts), hence the indexed ones. */
export const EXPR = {
  tenant: metadataTextExpression(M, ['tenant']),
  day: metadataTextExpression(M, ['day']),
  dayString: metadataStringExpression(M, ['day']),
  price: metadataNumberExpression(M, ['price']),
  s1: metadataTextExpression(M, ['s1']),
} as const;

/** The partial vector index's predicate, as the store writes it for `partialIndexPredicates: [{ s1: 'y' }]`. */
export const S1_PREDICATE = `(("metadata" ->> 's1'::text) = 'y'::text)`;

/**
 * Query vectors the tuner measures per table (after the cases' own): on this clustered data 200 gave 95%
 * intervals of ±0.02 at recall 0.95, and the store, which picks ef_search on the lower bound, paid up to 2×
 * the ef_search the mean needed; 600 narrow them to about ±0.012.
 */
export const TUNE_QUERIES = 600;
/** Query vectors of the filtered (`s10 = 'y'`, iterative) tune: fewer, as each is an iterative scan per k. */
export const TUNE_FILTERED_QUERIES = 200;
export const HNSW_WITH = 'WITH (m = 16, ef_construction = 64)';

/**
 * The build of a table's main HNSW index: pgvector's defaults (m 16, ef_construction 64), except where the
 * tuner found that no ef_search reaches recall 0.95 on that graph and advised a better one — then the bench
 * does what a user following `tune` does. 1M × 384: on the default graph ef_search 1000 reached 0.934 (lower
 * bound 0.915) at k 10, and `tune` advised `m = 32, ef_construction = 128`.
 */
export function mainHnswBuild(t: ScaleTable): { m: number; efConstruction: number; advised: boolean } {
  return t.dims === 384 && t.rows >= 1_000_000
    ? { m: 32, efConstruction: 128, advised: true }
    : { m: 16, efConstruction: 64, advised: false };
}

/** One index of a scale table: a step name and its DDL. */
export interface ScaleIndex {
  readonly step: string;
  readonly name: string;
  readonly sql: string;
}

/** The indexes of a table, in build order (vector indexes last but one: the long builds). */
export function scaleIndexes(t: ScaleTable): ScaleIndex[] {
  const table = scaleTableName(t);
  const q = `"${table}"`;
  const idx = (step: string, body: string, name = `${table}_${step}`): ScaleIndex => ({
    step,
    name,
    sql: `CREATE INDEX "${name}" ON ${q} ${body}`,
  });
  const main = mainHnswBuild(t);
  if (t.dims > 2000) {
    return [
      idx('halfvec_hnsw', `USING hnsw ((embedding::halfvec(${t.dims})) halfvec_cosine_ops) ${HNSW_WITH}`),
      idx(
        'bit_hnsw',
        `USING hnsw ((binary_quantize(embedding)::bit(${t.dims})) bit_hamming_ops) ${HNSW_WITH}`,
      ),
    ];
  }
  return [
    idx('gin', `USING gin ("metadata" jsonb_path_ops)`),
    idx('tenant', `((${EXPR.tenant}))`),
    idx('price', `((${EXPR.price}))`),
    idx('day', `((${EXPR.day}))`),
    // What `advise` recommends for a string range: served with no per-row type test.
    idx('day_str', `((${EXPR.dayString}))`),
    idx('created', `("created_at")`),
    idx('s1_hnsw', `USING hnsw ("embedding" vector_cosine_ops) ${HNSW_WITH} WHERE ${S1_PREDICATE}`),
    main.advised
      ? idx(
          `hnsw_m${main.m}_efc${main.efConstruction}`,
          `USING hnsw ("embedding" vector_cosine_ops) WITH (m = ${main.m}, ef_construction = ${main.efConstruction})`,
          `${table}_hnsw`,
        )
      : idx('hnsw', `USING hnsw ("embedding" vector_cosine_ops) ${HNSW_WITH}`),
  ];
}

const STEPS_SQL = `CREATE TABLE IF NOT EXISTS scale_steps (
  "tbl" TEXT NOT NULL, "step" TEXT NOT NULL, "seconds" DOUBLE PRECISION NOT NULL,
  "detail" JSONB, "done_at" TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY ("tbl", "step"))`;

/** A recorded step. */
export interface StepRecord {
  readonly step: string;
  readonly seconds: number;
  readonly detail: Record<string, unknown> | null;
}

export async function readSteps(client: pg.Client, table: string): Promise<Map<string, StepRecord>> {
  await client.query(STEPS_SQL);
  const { rows } = await client.query<StepRecord>(
    'SELECT step, seconds, detail FROM scale_steps WHERE tbl = $1',
    [table],
  );
  return new Map(rows.map((r) => [r.step, r]));
}

/** Records a step of a table (and its duration in seconds). */
export async function recordStep(
  client: pg.Client,
  table: string,
  step: string,
  seconds: number,
  detail: Record<string, unknown> | null = null,
) {
  await client.query(
    `INSERT INTO scale_steps (tbl, step, seconds, detail) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tbl, step) DO UPDATE SET seconds = EXCLUDED.seconds, detail = EXCLUDED.detail, done_at = now()`,
    [table, step, seconds, detail === null ? null : JSON.stringify(detail)],
  );
}

/** True when the table has every step recorded (rows loaded, vacuumed, every index built). */
export async function isComplete(client: pg.Client, t: ScaleTable): Promise<boolean> {
  const steps = await readSteps(client, scaleTableName(t));
  return ['load', 'vacuum', ...scaleIndexes(t).map((i) => i.step)].every((s) => steps.has(s));
}

/**
 * Loads and indexes a table, skipping the steps already recorded (resumable: an interrupted load starts
 * over; an interrupted index build is dropped and built again).
 */
export async function prepareScaleTable(
  client: pg.Client,
  t: ScaleTable,
  log: (line: string) => void,
): Promise<Map<string, StepRecord>> {
  const table = scaleTableName(t);
  let steps = await readSteps(client, table);
  await client.query('CREATE EXTENSION IF NOT EXISTS vector');
  if (!steps.has('load')) {
    log(`${table}: loading ${t.rows} rows × ${t.dims} (binary COPY)…`);
    const started = performance.now();
    let generateMs = 0;
    await client.query('BEGIN');
    await client.query(`DROP TABLE IF EXISTS "${table}"`);
    await client.query(scaleTableSql(table, t.dims));
    const batch: ScaleRow[] = [];
    const batchRows = Math.max(500, Math.floor(8_000_000 / (t.dims * 4)));
    let done = 0;
    const flush = async () => {
      const g = performance.now();
      const data = encodeScaleCopy(batch);
      generateMs += performance.now() - g;
      await copyFrom(
        client,
        `COPY "${table}" ("id", "content", "metadata", "embedding", "created_at") FROM STDIN (FORMAT binary)`,
        data,
      );
      done += batch.length;
      batch.length = 0;
      if (done % (batchRows * 40) < batchRows) log(`${table}: ${done} rows`);
    };
    let g = performance.now();
    for (const row of scaleRows(t.dims, t.rows)) {
      batch.push(row);
      if (batch.length >= batchRows) {
        generateMs += performance.now() - g;
        await flush();
        g = performance.now();
      }
    }
    generateMs += performance.now() - g;
    if (batch.length > 0) await flush();
    await client.query('COMMIT');
    const seconds = (performance.now() - started) / 1000;
    await recordStep(client, table, 'load', seconds, {
      rows: t.rows,
      generateSeconds: generateMs / 1000,
      rowsPerSecond: t.rows / seconds,
    });
    log(`${table}: loaded in ${seconds.toFixed(1)} s (${(generateMs / 1000).toFixed(1)} s generating)`);
  }
  if (!steps.has('vacuum')) {
    const started = performance.now();
    await client.query(`VACUUM ANALYZE "${table}"`);
    await recordStep(client, table, 'vacuum', (performance.now() - started) / 1000);
  }
  let built = false;
  for (const index of scaleIndexes(t)) {
    steps = await readSteps(client, table);
    if (steps.has(index.step)) continue;
    built = true;
    log(`${table}: building ${index.step}…`);
    await client.query(`DROP INDEX IF EXISTS "${index.name}"`);
    const started = performance.now();
    // No statement timeout for a build (the run's own is for searches): 1M rows at m 32 take over 10 min.
    const { rows: timeout } = await client.query<{ t: string }>(
      `SELECT current_setting('statement_timeout') AS t`,
    );
    await client.query('SET statement_timeout = 0');
    try {
      await client.query(index.sql);
    } finally {
      await client.query(`SELECT set_config('statement_timeout', $1, false)`, [timeout[0]?.t ?? '0']);
    }
    const seconds = (performance.now() - started) / 1000;
    const { rows } = await client.query<{ size: string }>(
      `SELECT pg_relation_size('"${index.name}"'::regclass)::text AS size`,
    );
    await recordStep(client, table, index.step, seconds, { bytes: Number(rows[0]?.size ?? 0) });
    log(`${table}: ${index.step} built in ${seconds.toFixed(1)} s`);
  }
  // The planner's statistics of the expression indexes come from ANALYZE (again after a new index).
  if (!steps.has('analyze') || built) {
    const started = performance.now();
    await client.query(`ANALYZE "${table}"`);
    await recordStep(client, table, 'analyze', (performance.now() - started) / 1000);
  }
  return readSteps(client, table);
}

/** The tables of a full scale run, in preparation order (the long builds early, the 3072-dim last). */
export const FULL_TABLES: readonly ScaleTable[] = [
  { dims: 384, rows: 100_000 },
  { dims: 384, rows: 1_000_000 },
  { dims: 1536, rows: 200_000 },
  { dims: 384, rows: 300_000 },
  { dims: 3072, rows: 100_000 },
];

/** Reads `384x100000,1536x200000` (or `100k`, `1m` suffixes). */
export function parseTables(text: string): ScaleTable[] {
  return text.split(',').map((part) => {
    const m = /^(\d+)x(\d+)([km]?)$/i.exec(part.trim());
    if (m === null) throw new Error(`--sizes: cannot read '${part}' (write dims x rows, e.g. 384x100k)`);
    const unit = m[3]?.toLowerCase() === 'k' ? 1000 : m[3]?.toLowerCase() === 'm' ? 1_000_000 : 1;
    return { dims: Number(m[1]), rows: Number(m[2]) * unit };
  });
}
