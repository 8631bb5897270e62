/**
 * Memory of a bulk load through the service: two loads of different sizes, each in a fresh child process
 * (`memory-child.ts`) that streams a generator into one `addMany` call (binary COPY through the pool); their
 * peak RSS must not grow with the number of rows.
 * Interleaved small, large, small, large. The database runs in another process (or server), so the RSS is
 * the client's alone.
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { resetTable } from './engine.js';
import { type Goal, goal, interleave, type Summary, summarize } from './stats.js';

export interface MemoryRun {
  readonly rows: number;
  readonly inserted: number;
  readonly baselineRss: number;
  readonly peakRss: number;
  readonly peakHeapUsed: number;
  /** Heap still reachable after the load and a full GC: what the load retained. */
  readonly heapAfterGc: number;
  readonly seconds: number;
}

export interface MemoryResult {
  readonly dims: number;
  /** The store's bulk path measured (absent in results from before it was recorded: `copy`). */
  readonly method?: 'copy' | 'insert';
  readonly sizes: readonly [number, number];
  readonly runs: MemoryRun[];
  readonly peakRssMiB: { readonly small: Summary; readonly large: Summary };
  /** Peak RSS of the large load ÷ the small one. */
  readonly ratio: number;
  /** What the vectors of the large load weigh as float4, for scale. */
  readonly largeVectorMiB: number;
  readonly goals: Goal[];
}

function runChild(args: object): Promise<MemoryRun> {
  const script = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`memory child exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as MemoryRun);
    });
  });
}

/** Runs the memory comparison. */
export async function benchMemory(opts: {
  readonly url: string;
  readonly client: pg.Client;
  readonly dims: number;
  readonly sizes: readonly [number, number];
  readonly rounds: number;
  readonly method: 'copy' | 'insert';
  readonly log: (line: string) => void;
}): Promise<MemoryResult> {
  const { client, dims, sizes, rounds, method, log } = opts;
  const table = `bench_mem_${dims}`;
  await resetTable(client, table, dims);
  const runs: MemoryRun[] = [];
  const peaks = await interleave(rounds, ['small', 'large'] as const, async (which, round) => {
    await client.query(`TRUNCATE "${table}"`);
    const rows = which === 'small' ? sizes[0] : sizes[1];
    const run = await runChild({ url: opts.url, table, dims, rows, seed: 7, method });
    runs.push(run);
    log(
      `    ${method} round ${round + 1} ${String(rows).padStart(6)} rows × ${dims}d: peak RSS ${(run.peakRss / 2 ** 20).toFixed(1)} MiB (start ${(run.baselineRss / 2 ** 20).toFixed(1)}), ${(rows / run.seconds).toFixed(0)} rows/s`,
    );
    return run.peakRss / 2 ** 20;
  });
  await client.query(`DROP TABLE "${table}"`);
  const small = summarize(peaks.small);
  const large = summarize(peaks.large);
  const ratio = large.median / small.median;
  const largeVectorMiB = (sizes[1] * 4 * dims) / 2 ** 20;
  return {
    dims,
    method,
    sizes,
    runs,
    peakRssMiB: { small, large },
    ratio,
    largeVectorMiB,
    // The goal is on the store's bulk path with a pool (COPY). The INSERT path is measured for the record:
    // Prisma's debug module keeps the arguments of its last 100 debug calls, serialized raw-query parameters
    // included, so its retention grows with the batches until that history is full (see bench/notes.md).
    goals:
      method !== 'copy'
        ? []
        : [
            goal(
              `memory.${dims}.${method}.peakRss`,
              `peak RSS loading ${sizes[1]} rows ÷ ${sizes[0]} rows (one streaming addMany, ${method === 'copy' ? 'COPY through the pool' : 'INSERTs through Prisma'})`,
              ratio,
              { atMost: 1.2 },
              '×',
              `${(large.median - small.median).toFixed(1)} MiB more for ${sizes[1] - sizes[0]} more rows (${(((sizes[1] - sizes[0]) * 4 * dims) / 2 ** 20).toFixed(0)} MiB of vectors)`,
            ),
          ],
  };
}
