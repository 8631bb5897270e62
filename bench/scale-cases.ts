/**
 * The scale benchmark's cases: a filter (as the store takes it) per query, and the same question as
 * hand-written SQL predicates in the forms an index serves (GIN `@>`, expression B-tree, the partial index's
 * predicate). Filter operands differ per query (seeded), so a store cannot answer every query from one cached
 * estimate. `$1` is always the query vector; predicates number their parameters from `$2`.
 */

import { random } from './dataset.js';
import { EXPR, S1_PREDICATE, SPAN_DAYS, SPAN_START } from './scale-data.js';

const DAY_MS = 86_400_000;

/** One SQL form of a case's filter: `WHERE <where>` with `params` as `$2…`. */
export interface PredicateForm {
  /** `gin`, `btree`, `partial`. */
  readonly name: string;
  readonly where: string;
  readonly params: readonly unknown[];
}

/** One query of a case: its store filter and its SQL forms. */
export interface CaseQuery {
  readonly filter: Record<string, unknown> | undefined;
  readonly forms: readonly PredicateForm[];
}

/** A case: what it asks and, per query index, the filter. */
export interface ScaleCase {
  readonly id: string;
  readonly label: string;
  readonly k: number;
  /** Fraction of rows the filter is built to match (1 when unfiltered). */
  readonly nominal: number;
  /** Whether the partial HNSW index (`s1 = 'y'`) answers it. */
  readonly partial: boolean;
  query(i: number): CaseQuery;
}

function dayText(day: number): string {
  return new Date(SPAN_START + day * DAY_MS).toISOString().slice(0, 10);
}

function seeded<T>(seed: number, count: number, make: (next: () => number) => T): T[] {
  const next = random(seed);
  return Array.from({ length: count }, () => make(next));
}

const price2 = (x: number) => Math.round(x * 100) / 100;

/** The cases of a 384/1536-dim table for `queries` queries. */
export function scaleCases(queries: number): ScaleCase[] {
  const unfiltered = (k: number): ScaleCase => ({
    id: `unfiltered-k${k}`,
    label: `unfiltered, k ${k}`,
    k,
    nominal: 1,
    partial: false,
    query: () => ({ filter: undefined, forms: [] }),
  });
  const tag = (key: 's10' | 's1', nominal: number): ScaleCase => ({
    id: key,
    label: `${key} = 'y' (${nominal * 100}%)`,
    k: 10,
    nominal,
    partial: key === 's1',
    query: () => ({
      filter: { [key]: 'y' },
      forms: [
        { name: 'gin', where: `"metadata" @> $2::jsonb`, params: [JSON.stringify({ [key]: 'y' })] },
        ...(key === 's1' ? [{ name: 'partial', where: S1_PREDICATE, params: [] }] : []),
      ],
    }),
  });
  const tenants = seeded(7001, queries, (n) => `t${Math.floor(n() * 1000)}`);
  const tenant: ScaleCase = {
    id: 'tenant',
    label: 'one tenant (0.1%)',
    k: 10,
    nominal: 0.001,
    partial: false,
    query: (i) => {
      const t = tenants[i % queries] as string;
      return {
        filter: { tenant: t },
        forms: [
          { name: 'gin', where: `"metadata" @> $2::jsonb`, params: [JSON.stringify({ tenant: t })] },
          { name: 'btree', where: `${EXPR.tenant} = $2::text`, params: [t] },
        ],
      };
    },
  };
  const tenantLists = seeded(7002, queries, (n) => {
    const set = new Set<string>();
    while (set.size < 10) set.add(`t${Math.floor(n() * 1000)}`);
    return [...set];
  });
  const tenantIn: ScaleCase = {
    id: 'tenant-in',
    label: 'tenant in [10 tenants] (1%)',
    k: 10,
    nominal: 0.01,
    partial: false,
    query: (i) => {
      const list = tenantLists[i % queries] as string[];
      return {
        filter: { tenant: { in: list } },
        forms: [
          {
            name: 'gin',
            where: `"metadata" @> ANY($2::jsonb[])`,
            params: [list.map((t) => JSON.stringify({ tenant: t }))],
          },
          { name: 'btree', where: `${EXPR.tenant} = ANY($2::text[])`, params: [list] },
        ],
      };
    },
  };
  const priceCase = (fraction: number, seed: number): ScaleCase => {
    const width = 1000 * fraction;
    const starts = seeded(seed, queries, (n) => price2(n() * (1000 - width)));
    return {
      id: `price-${fraction * 100}pct`,
      label: `price range (${fraction * 100}%)`,
      k: 10,
      nominal: fraction,
      partial: false,
      query: (i) => {
        const lo = starts[i % queries] as number;
        const hi = price2(lo + width);
        return {
          filter: { price: { gte: lo, lt: hi } },
          forms: [
            {
              name: 'btree',
              where: `${EXPR.price} >= $2::numeric AND ${EXPR.price} < $3::numeric`,
              params: [lo, hi],
            },
          ],
        };
      },
    };
  };
  const dayStarts = seeded(7010, queries, (n) => Math.floor(n() * (SPAN_DAYS - 11)));
  const day: ScaleCase = {
    id: 'day',
    label: 'day range, 11 days (1%)',
    k: 10,
    nominal: 11 / SPAN_DAYS,
    partial: false,
    query: (i) => {
      const d = dayStarts[i % queries] as number;
      const lo = dayText(d);
      const hi = dayText(d + 11);
      return {
        filter: { day: { gte: lo, lt: hi } },
        forms: [
          { name: 'btree', where: `${EXPR.day} >= $2::text AND ${EXPR.day} < $3::text`, params: [lo, hi] },
          // The string index (`advise` recommends it for string ranges; the store then writes this form).
          {
            name: 'string',
            where: `${EXPR.dayString} >= $2::text AND ${EXPR.dayString} < $3::text`,
            params: [lo, hi],
          },
        ],
      };
    },
  };
  const createdStarts = seeded(
    7011,
    queries,
    (n) => SPAN_START + Math.floor(n() * (SPAN_DAYS - 11) * DAY_MS),
  );
  const created: ScaleCase = {
    id: 'created-at',
    label: 'createdAt range, 11 days (1%)',
    k: 10,
    nominal: 11 / SPAN_DAYS,
    partial: false,
    query: (i) => {
      const lo = new Date(createdStarts[i % queries] as number);
      const hi = new Date(lo.getTime() + 11 * DAY_MS);
      return {
        filter: { createdAt: { gte: lo, lt: hi } },
        forms: [
          {
            name: 'btree',
            where: `"created_at" >= $2::timestamp AND "created_at" < $3::timestamp`,
            params: [lo.toISOString().slice(0, 23), hi.toISOString().slice(0, 23)],
          },
        ],
      };
    },
  };
  const tpStarts = seeded(7012, queries, (n) => price2(n() * 500));
  const tenantPrice: ScaleCase = {
    id: 'tenant-price',
    label: 'tenant AND price range 50% (0.05%)',
    k: 10,
    nominal: 0.0005,
    partial: false,
    query: (i) => {
      const t = tenants[(i + 1) % queries] as string;
      const lo = tpStarts[i % queries] as number;
      const hi = price2(lo + 500);
      const price = `${EXPR.price} >= $3::numeric AND ${EXPR.price} < $4::numeric`;
      return {
        filter: { tenant: t, price: { gte: lo, lt: hi } },
        forms: [
          { name: 'btree', where: `${EXPR.tenant} = $2::text AND ${price}`, params: [t, lo, hi] },
          {
            name: 'gin',
            where: `"metadata" @> $2::jsonb AND ${price}`,
            params: [JSON.stringify({ tenant: t }), lo, hi],
          },
        ],
      };
    },
  };
  return [
    unfiltered(10),
    unfiltered(50),
    tag('s10', 0.1),
    tag('s1', 0.01),
    tenant,
    tenantIn,
    priceCase(0.1, 7020),
    priceCase(0.01, 7021),
    priceCase(0.001, 7022),
    day,
    created,
    tenantPrice,
  ];
}
