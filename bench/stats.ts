/**
 * Summary statistics and the interleaving discipline every comparison follows: contenders run A B A B …
 * in one process, so that the noise of a shared machine lands on all of them alike, and only ratios of
 * contenders measured together are reported — never absolute thresholds.
 */

import { random } from './dataset.js';

/** Median, p99, mean and count of a sample (milliseconds, rows/s, bytes: whatever was measured). */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p99: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** The q-quantile (0–1) of sorted values, by linear interpolation between closest ranks. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/** Summarises a sample. */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((s, x) => s + x, 0);
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** Milliseconds since an arbitrary origin, sub-millisecond. */
export function now(): number {
  return performance.now();
}

/** Runs `fn` and returns its duration in milliseconds with its result. */
export async function timed<R>(fn: () => Promise<R>): Promise<{ ms: number; result: R }> {
  const start = now();
  const result = await fn();
  return { ms: now() - start, result };
}

/**
 * A full garbage collection when the bench runs with `--expose-gc` (`npm run bench` does): called before a
 * timed load so that one contender's garbage is not collected during the next one's timing.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * The order of the contenders in round `round`: two alternate (A B, B A, …); more are shuffled with a
 * seeded generator, so that neither who goes first nor who follows whom is the same every round (a fixed
 * cyclic order always put the same contender after the one that leaves the server busiest).
 */
export function roundOrder<K>(contenders: readonly K[], round: number): K[] {
  if (contenders.length <= 2) return round % 2 === 0 ? [...contenders] : [...contenders].reverse();
  const order = [...contenders];
  const next = random((round + 1) * 0x9e3779b9);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j] as K, order[i] as K];
  }
  return order;
}

/**
 * Runs each contender once per round, round after round, in {@link roundOrder}. Returns each contender's
 * measurements in round order.
 */
export async function interleave<K extends string>(
  rounds: number,
  contenders: readonly K[],
  run: (contender: K, round: number) => Promise<number>,
): Promise<Record<K, number[]>> {
  const out = Object.fromEntries(contenders.map((c) => [c, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < rounds; r++) {
    for (const c of roundOrder(contenders, r)) out[c].push(await run(c, r));
  }
  return out;
}

/** A goal: a measured value against a bound, PASS or MISS. */
export interface Goal {
  readonly id: string;
  readonly description: string;
  readonly measured: number;
  /** How the measured value is shown, e.g. `1.07×`. */
  readonly shown: string;
  readonly bound: string;
  readonly pass: boolean;
  readonly note?: string;
}

/** Builds a goal; `atMost`/`atLeast` says which side of the bound passes. */
export function goal(
  id: string,
  description: string,
  measured: number,
  rule: { readonly atMost: number } | { readonly atLeast: number },
  unit: '×' | '' = '×',
  note?: string,
): Goal {
  const pass = 'atMost' in rule ? measured <= rule.atMost : measured >= rule.atLeast;
  const bound = 'atMost' in rule ? `≤ ${rule.atMost}${unit}` : `≥ ${rule.atLeast}${unit}`;
  const shown = `${fmt(measured, unit === '×' ? 2 : 3)}${unit}`;
  return { id, description, measured, shown, bound, pass, ...(note === undefined ? {} : { note }) };
}

/** A number with `digits` decimals, or `n/a`. */
export function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

/** Prints a goal line: `PASS  bulk.vsRaw  store / fastest raw pg  0.93× (≥ 0.8×)`. */
export function printGoal(g: Goal): void {
  console.log(
    `  ${g.pass ? 'PASS' : 'MISS'}  ${g.id.padEnd(28)} ${g.shown.padStart(9)}  (${g.bound})  ${g.description}${
      g.note === undefined ? '' : ` — ${g.note}`
    }`,
  );
}
