/**
 * Renders bench reports as docs/BENCHMARKS.md — the latest full run on the embedded engine and the latest on
 * the native server, each with its figures, side by side in one table first — and the recall charts
 * (docs/bench-recall.svg, docs/bench-recall-native.svg: recall@10 against median latency across ef_search,
 * one line per dimension). The hand-written readings of the figures live in bench/notes.md (embedded) and
 * bench/notes-native.md, included as they are.
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { BulkResult } from './bulk-load.js';
import type { RunInfo } from './engine.js';
import type { IndexBuildResult } from './index-build.js';
import type { MemoryResult } from './memory.js';
import type { RecallResult } from './recall.js';
import { latestScaleSection } from './scale-report.js';
import type { OverheadResult } from './search-overhead.js';
import { fmt, type Goal, type Summary } from './stats.js';

export interface Report {
  readonly info: RunInfo;
  readonly mode: string;
  readonly plan: unknown;
  readonly totalSeconds: number;
  readonly goals: readonly Goal[];
  readonly results: Record<string, unknown>;
}

/** The engine a report measured: embedded PGlite, the native server (`--native`) or a `DATABASE_URL`. */
export function reportEngine(report: Pick<Report, 'info'>): 'embedded' | 'native' | 'url' {
  const kind = report.info.engine.kind;
  return kind.startsWith('embedded') ? 'embedded' : kind.startsWith('native') ? 'native' : 'url';
}

/** `<date>-[native-|url-]<mode>.json`: where bench/run.ts saves a report under bench/results/. */
export function resultsFileName(report: Pick<Report, 'info' | 'mode'>): string {
  const engine = reportEngine(report);
  return `${report.info.date.slice(0, 10)}-${engine === 'embedded' ? '' : `${engine}-`}${report.mode}.json`;
}

/** The newest full run of `engine` saved in bench/results/, if any. */
export function latestFullRun(engine: 'embedded' | 'native'): Report | undefined {
  const dir = new URL('./results/', import.meta.url);
  const pattern =
    engine === 'native' ? /^\d{4}-\d{2}-\d{2}-native-full\.json$/ : /^\d{4}-\d{2}-\d{2}-full\.json$/;
  const reports = (existsSync(dir) ? readdirSync(dir) : [])
    .filter((name) => pattern.test(name))
    .map((name) => JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as Report)
    .sort((a, b) => a.info.date.localeCompare(b.info.date));
  return reports.at(-1);
}

const MiB = 2 ** 20;
const ms = (s: Summary) => `${fmt(s.median)} / ${fmt(s.p99)}`;
const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

const BULK_LABELS: Record<string, string> = {
  store:
    "**store** `addMany` with `pool` (binary COPY on the adapter's pool, one transaction; no post-load maintenance, like the raw paths)",
  storeDefaults:
    'store `addMany` with `pool` and its defaults (+ `ANALYZE` before the commit, `VACUUM (ANALYZE)` after)',
  storeInsert:
    "store `addMany`, `method: 'insert'` (binary multi-row INSERT ×500 through Prisma, one transaction)",
  pgInsertBinary: '(a) `pg` multi-row INSERT ×500, binary vectors, one transaction',
  pgCopyBinary: '(a) `pg` `COPY … FROM STDIN (FORMAT binary)`',
  prismaPerRow: '(b) one `$executeRaw` INSERT per row, text vectors (LangChain PrismaVectorStore)',
  pgTextChunks: '(c) `pg` multi-row INSERT ×500, text vectors (LangChain PGVectorStore)',
};

function bulkSection(b: BulkResult): string {
  const store = b.rowsPerSecond.store.median;
  return [
    `### ${b.dims} dims`,
    '',
    `${int(b.rows)} rows per load for the store and (a), ${int(b.slowRows)} for (b) and (c); ${b.rounds} rounds, contenders in a shuffled order each round, the server checkpointed and both processes garbage-collected before each load; rows/s, median (min–max).`,
    '',
    table(
      ['path', 'rows/s', 'store ÷ path'],
      Object.entries(b.rowsPerSecond).map(([c, s]) => [
        BULK_LABELS[c] ?? c,
        `${int(s.median)} (${int(s.min)}–${int(s.max)})`,
        c === 'store' ? '—' : `${fmt(store / s.median)}×`,
      ]),
    ),
    '',
    `Vector bytes per row: the store sends ${int(b.vectorBytesPerRow.store)} bytes in its COPY tuples${b.vectorBytesPerRow.storeInsert === undefined ? '' : ` and binds ${int(b.vectorBytesPerRow.storeInsert)} on its INSERT path`} (pgvector binary 4·d+4 = ${int(b.vectorBytesPerRow.pgvectorBinary)}); a text literal takes ${int(b.vectorBytesPerRow.text)} bytes on average.`,
  ].join('\n');
}

function buildSection(results: readonly IndexBuildResult[]): string {
  return table(
    ['dims', 'rows', 'maintenance_work_mem', 'build s median (min–max)', 'index size', 'notices'],
    results.flatMap((r) =>
      (['default', 'large'] as const).map((w) => [
        String(r.dims),
        int(r.rows),
        w === 'default' ? `${r.defaultMaintenanceWorkMem} (session default)` : r.largeMaintenanceWorkMem,
        `${fmt(r.buildSeconds[w].median, 1)} (${fmt(r.buildSeconds[w].min, 1)}–${fmt(r.buildSeconds[w].max, 1)})`,
        `${fmt(r.indexBytes[w] / MiB, 1)} MiB`,
        r.notices[w].filter((n) => !n.endsWith('skipping')).join('; ') || '—',
      ]),
    ),
  );
}

function recallSection(r: RecallResult): string {
  return [
    `### ${r.dims} dims, ${int(r.rows)} rows, ${r.queries} queries, k = ${r.k}`,
    '',
    table(
      ['ef_search', 'recall@10 mean', 'worst query', 'latency ms p50 / p99'],
      r.ladder.map((p) => [
        p.efSearch === r.recommendedEfSearch ? `**${p.efSearch}** (recommended)` : String(p.efSearch),
        fmt(p.recall, 3),
        fmt(p.minRecall, 2),
        ms(p.latencyMs),
      ]),
    ),
    '',
    `Recommended: ${r.recommendedEfSearch ?? 'none of the ladder reached 0.95'} — ${r.recommendedBy}.`,
    ...(r.tuner === undefined
      ? []
      : [
          '',
          `The tuner's own measurements (recall vs its exact search in SQL; p50 of the bare query through \`pg\`, ${fmt(r.tuner.seconds, 1)} s in all): ${r.tuner.steps
            .map(
              (x) =>
                `${x.value}: ${fmt(x.recall, 3)} / ${fmt(x.p50Ms)} ms${x.plannerUsesIndex ? '' : ' (planner would seq-scan)'}`,
            )
            .join('; ')}.`,
        ]),
    '',
    `Filtered searches at ef_search = ${r.recommendedEfSearch ?? 320} (the same for all, interleaved per query; the partial-index rows in a phase of their own with the index built, against that phase's unfiltered search):`,
    '',
    table(
      [
        'search',
        'iterative scan',
        'recall@10',
        'rows min / mean',
        'queries with k rows',
        'p50 / p99 ms',
        'p50 ÷ unfiltered',
        'plan',
      ],
      r.filtered.map((f) => [
        f.name,
        f.iterativeScan,
        fmt(f.recall, 3),
        `${f.minRows} / ${fmt(f.meanRows, 1)}`,
        `${fmt(f.fullFraction * 100, 0)}%`,
        ms(f.latencyMs),
        `${fmt(f.p50VsUnfiltered)}×`,
        f.indexes.length === 0 ? 'seq scan' : f.indexes.map((i) => `\`${i}\``).join(', '),
      ]),
    ),
  ].join('\n');
}

function searchSection(s: OverheadResult): string {
  const row = (name: string, r: OverheadResult['concurrency1']) => [
    name,
    ms(r.latencyMs.store),
    ms(r.latencyMs.pg),
    `${fmt(r.ratio.p50)}× / ${fmt(r.ratio.p99)}×`,
    r.qps === undefined ? '—' : `${fmt(r.qps.store, 0)} / ${fmt(r.qps.pg, 0)}`,
    `${r.errors.store} / ${r.errors.pg}`,
  ];
  return [
    `${s.dims} dims, ${int(s.rows)} rows, HNSW, k = ${s.k}, default ef_search; ${s.queries} queries × ${s.rounds} rounds. The SQL both send:`,
    '',
    '```sql',
    s.sql,
    '```',
    '',
    table(
      [
        'concurrency',
        'store p50 / p99 ms',
        'pg p50 / p99 ms',
        'ratio p50 / p99',
        'queries/s store / pg',
        'errors store / pg',
      ],
      [row('1', s.concurrency1), row('8', s.concurrency8)],
    ),
    '',
    s.concurrency1.latencyMs.storeViaPrisma === undefined
      ? ''
      : `The same store with \`searchVia: 'prisma'\` (\`$queryRaw\`) at concurrency 1: ${ms(s.concurrency1.latencyMs.storeViaPrisma)} ms (p50 / p99), ${fmt(s.concurrency1.latencyMs.storeViaPrisma.median / s.concurrency1.latencyMs.pg.median)}× pg at p50 — Prisma's raw-query layer.`,
    '',
    `Same ids both ways: ${s.sameResults ? 'yes' : 'NO'}. Vector bytes per query: ${int(s.vectorBytesPerQuery.store)} (pgvector binary ${int(s.vectorBytesPerQuery.pgvectorBinary)}; as a text literal ${int(s.vectorBytesPerQuery.text)}).`,
  ].join('\n');
}

function memorySection(m: MemoryResult): string {
  return [
    `**${m.method === 'insert' ? "`method: 'insert'`" : 'COPY (with `pool`)'}.** ${m.dims} dims; one \`addMany\` call streaming a generator (${m.method === 'insert' ? 'multi-row INSERTs of 500 rows through Prisma, one interactive transaction' : 'binary COPY through the pool, one transaction, 16 MiB per COPY statement'}, \`returnIds: false\`), one fresh process per load, RSS sampled every 10 ms; the database runs in another process.`,
    '',
    table(
      ['rows', 'start RSS MiB', 'peak RSS MiB', 'peak heap used MiB', 'heap after load + GC MiB', 'rows/s'],
      m.runs.map((r) => [
        int(r.rows),
        fmt(r.baselineRss / MiB, 1),
        fmt(r.peakRss / MiB, 1),
        fmt(r.peakHeapUsed / MiB, 1),
        fmt(r.heapAfterGc / MiB, 1),
        int(r.rows / r.seconds),
      ]),
    ),
    '',
    `Peak RSS, median: ${fmt(m.peakRssMiB.small.median, 1)} MiB for ${int(m.sizes[0])} rows, ${fmt(m.peakRssMiB.large.median, 1)} MiB for ${int(m.sizes[1])} rows (${fmt(m.ratio)}×); the larger load's vectors alone weigh ${fmt(m.largeVectorMiB, 0)} MiB.`,
  ].join('\n');
}

/** The recall-vs-latency chart. */
export function recallChart(recalls: readonly RecallResult[]): string {
  const W = 680;
  const H = 420;
  const m = { l: 64, r: 150, t: 40, b: 56 };
  const points = recalls.flatMap((r) => r.ladder);
  const xMax = Math.max(...points.map((p) => p.latencyMs.median)) * 1.1;
  const yMin = Math.min(0.8, Math.floor(Math.min(...points.map((p) => p.recall)) * 20) / 20);
  const x = (v: number) => m.l + (v / xMax) * (W - m.l - m.r);
  const y = (v: number) => H - m.b - ((v - yMin) / (1 - yMin)) * (H - m.t - m.b);
  const colours = ['#1f77b4', '#d62728', '#2ca02c'];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${m.l}" y="22" font-size="14" font-weight="bold">recall@10 vs median search latency across hnsw.ef_search</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = yMin + ((1 - yMin) * i) / 4;
    out.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${m.l - 8}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const v = (xMax * i) / 5;
    out.push(
      `<line x1="${x(v)}" x2="${x(v)}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/>`,
      `<text x="${x(v)}" y="${H - m.b + 16}" text-anchor="middle">${v.toFixed(1)}</text>`,
    );
  }
  out.push(
    `<line x1="${m.l}" x2="${W - m.r}" y1="${y(0.95)}" y2="${y(0.95)}" stroke="#888" stroke-dasharray="4 3"/>`,
    `<text x="${W - m.r + 4}" y="${y(0.95) + 4}" fill="#555">target 0.95</text>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 14}" text-anchor="middle">median latency per search through the store (ms)</text>`,
    `<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">recall@10</text>`,
  );
  recalls.forEach((r, i) => {
    const c = colours[i % colours.length];
    const pts = r.ladder
      .map((p) => `${x(p.latencyMs.median).toFixed(1)},${y(p.recall).toFixed(1)}`)
      .join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"/>`);
    for (const p of r.ladder) {
      const px = x(p.latencyMs.median);
      const py = y(p.recall);
      out.push(
        `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="${p.efSearch === r.recommendedEfSearch ? 6 : 4}" fill="${c}"${p.efSearch === r.recommendedEfSearch ? ' stroke="#000" stroke-width="1.5"' : ''}/>`,
        `<text x="${(px + 6).toFixed(1)}" y="${(py - 6 - 10 * i).toFixed(1)}" fill="${c}" font-size="10">${p.efSearch}</text>`,
      );
    }
    out.push(
      `<rect x="${W - m.r + 8}" y="${m.t + 20 + i * 20}" width="12" height="12" fill="${c}"/>`,
      `<text x="${W - m.r + 26}" y="${m.t + 30 + i * 20}">${r.dims} dims, ${r.rows} rows</text>`,
    );
  });
  out.push(
    `<text x="${W - m.r + 8}" y="${m.t + 30 + recalls.length * 20 + 10}" font-size="10" fill="#555">labels: ef_search;</text>`,
    `<text x="${W - m.r + 8}" y="${m.t + 30 + recalls.length * 20 + 24}" font-size="10" fill="#555">outlined: recommended</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}

/** The files a rendering writes under docs/: BENCHMARKS.md and one recall chart per engine. */
export interface RenderedReport {
  readonly markdown: string;
  /** SVG charts by file name under docs/. */
  readonly charts: Readonly<Record<string, string>>;
}

const CHART_FILES = { embedded: 'bench-recall.svg', native: 'bench-recall-native.svg' } as const;

/**
 * docs/BENCHMARKS.md and the charts for the latest full run of each engine (either may be missing): the
 * method, a side-by-side table, then each run's goals, reading and figures.
 */
export function renderReport(runs: {
  embedded?: Report | undefined;
  native?: Report | undefined;
}): RenderedReport {
  const { embedded, native } = runs;
  const charts: Record<string, string> = {};
  const parts: string[] = [
    '# Benchmarks',
    '',
    '<!-- Generated by `npm run bench` (bench/report.ts) from bench/results/*.json; the readings of the figures are bench/notes.md and bench/notes-native.md. Do not edit by hand. -->',
    '',
    '`npm run bench` measures the vector store against the raw paths people use, on the embedded database',
    "(PGlite + pgvector served over the wire from a child process), on the project's native PostgreSQL 17 +",
    'pgvector (`npm run bench -- --native`: a throwaway cluster of `npm run db:native`, see docs/NATIVE.md) or on',
    'the PostgreSQL that `DATABASE_URL` names. `npm run bench -- --quick` is a smoke run (about a minute);',
    '`--rows 20000` or `--rows 384=20000,1536=8000` changes the dataset sizes; `--only bulk,build,search,recall,memory`',
    'runs some sections. A full run on either engine re-renders this page with the latest full run of the other.',
    '',
    '**How to read the numbers.** Each comparison runs its contenders interleaved in one process (A B A B …,',
    'the order shuffled each round) and reports medians, p99 and the ratio between contenders measured together.',
    'The machine was shared with other work while this ran, so absolute times move from run to run; ratios are',
    'what the goals are about. The embedded engine is PostgreSQL compiled to WASM: single-threaded, one session',
    'for every connection. The native server is a real PostgreSQL: one backend per connection, parallel workers.',
    '',
    '**Data.** A seeded Gaussian mixture on the unit sphere (bench/dataset.ts): 50 cluster centres drawn uniformly',
    'on the sphere; a point is `normalise(centre + 0.5 · g / √d)` with `g ~ N(0, I)` (two points of one cluster have',
    'cosine similarity ≈ 0.8, of different clusters ≈ 0); queries are fresh draws from the same mixture. Each row',
    'has metadata `{ cluster, s10, s1 }` with `s10 = "y"` on a random 10% of rows and `s1 = "y"` on 1%. Exact',
    'neighbours are computed in JS over the same float4 values (cosine distance, as pgvector defines it).',
    '',
  ];
  if (embedded && native) parts.push(sideBySide(embedded, native), '');
  if (embedded) {
    parts.push(runSection(embedded, 'embedded', `## Run of ${embedded.info.date.slice(0, 10)} (embedded)`));
    charts[CHART_FILES.embedded] = recallChart(recallsOf(embedded));
  }
  if (native) {
    // The native run's sections sit one heading level below its title.
    const section = runSection(native, 'native', `## Native run of ${native.info.date.slice(0, 10)}`);
    const [title, ...rest] = section.split('\n');
    parts.push([title, ...rest.map((line) => line.replace(/^(#{2,}) /, '#$1 '))].join('\n'));
    charts[CHART_FILES.native] = recallChart(recallsOf(native));
  }
  // The scale benchmark's section (bench/scale-report.ts), kept from its latest full run.
  const scale = latestScaleSection();
  if (scale !== '') parts.push(scale);
  return { markdown: `${parts.join('\n').trimEnd()}\n`, charts };
}

function recallsOf(report: Report): RecallResult[] {
  return [report.results.recall384, report.results.recall1536].filter(Boolean) as RecallResult[];
}

/** The headline figures of both engines in one table. */
function sideBySide(embedded: Report, native: Report): string {
  const pick = <T>(report: Report, key: string) => report.results[key] as T | undefined;
  const both = (f: (r: Report) => string) => [f(embedded), f(native)];
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || a === 0
      ? '—'
      : `${fmt(b / a)}×`;
  const row = (
    label: string,
    f: (r: Report) => number | undefined,
    show: (x: number) => string,
    higherIsBetter: boolean,
  ) => {
    const [e, n] = [f(embedded), f(native)];
    return [
      label,
      e === undefined ? '—' : show(e),
      n === undefined ? '—' : show(n),
      higherIsBetter ? ratio(e, n) : ratio(n, e),
    ];
  };
  const rows: string[][] = [];
  for (const dims of [384, 1536] as const) {
    rows.push(
      row(
        `${dims}d \`addMany\` (COPY via pool), rows/s`,
        (r) => pick<BulkResult>(r, `bulk${dims}`)?.rowsPerSecond.store?.median,
        int,
        true,
      ),
    );
  }
  const search = (r: Report) => pick<OverheadResult>(r, 'search1536');
  rows.push(
    row(
      '1536d search p50 ms, concurrency 1',
      (r) => search(r)?.concurrency1.latencyMs.store.median,
      (x) => fmt(x),
      false,
    ),
    row(
      '1536d search p99 ms, concurrency 1',
      (r) => search(r)?.concurrency1.latencyMs.store.p99,
      (x) => fmt(x),
      false,
    ),
    row(
      '1536d search p50 ms, concurrency 8',
      (r) => search(r)?.concurrency8.latencyMs.store.median,
      (x) => fmt(x),
      false,
    ),
    row(
      '1536d searches/s, concurrency 8',
      (r) => search(r)?.concurrency8.qps?.store,
      (x) => fmt(x, 0),
      true,
    ),
  );
  for (const dims of [384, 1536] as const) {
    const recall = (r: Report) => pick<RecallResult>(r, `recall${dims}`);
    const at = (r: Report) => {
      const x = recall(r);
      return x?.ladder.find((p) => p.efSearch === x.recommendedEfSearch);
    };
    rows.push([
      `${dims}d recommended ef_search (recall@10)`,
      ...both((r) =>
        at(r) ? `${recall(r)?.recommendedEfSearch} (${fmt(at(r)?.recall ?? Number.NaN, 3)})` : '—',
      ),
      '',
    ]);
    rows.push(
      row(
        `${dims}d search p50 ms at that ef_search`,
        (r) => at(r)?.latencyMs.median,
        (x) => fmt(x),
        false,
      ),
    );
    rows.push(
      row(
        `${dims}d HNSW build s (default maintenance_work_mem)`,
        (r) => pick<IndexBuildResult>(r, `build${dims}`)?.buildSeconds.default.median,
        (x) => fmt(x, 1),
        false,
      ),
    );
  }
  rows.push(
    row(
      `peak RSS MiB, \`addMany\` of ${int(pick<MemoryResult>(embedded, 'memory1536')?.sizes[1] ?? Number.NaN)} × 1536 (COPY)`,
      (r) => pick<MemoryResult>(r, 'memory1536')?.peakRssMiB.large.median,
      (x) => fmt(x, 1),
      false,
    ),
    [
      'goals',
      ...both(
        (r) => `${r.goals.filter((g) => g.pass).length} PASS, ${r.goals.filter((g) => !g.pass).length} MISS`,
      ),
      '',
    ],
  );
  return [
    '## Embedded and native side by side',
    '',
    `The store's figures of the latest full run on each engine (embedded ${embedded.info.date.slice(0, 16)}Z, native ${native.info.date.slice(0, 16)}Z; not the same moment of a shared machine). Speed-up: how many times better the native figure is (higher rows/s and searches/s, lower ms and MiB).`,
    '',
    table(['figure', 'embedded (PGlite)', 'native (PostgreSQL 17)', 'native speed-up'], rows),
  ].join('\n');
}

/** One run: what and where, its goals, its reading (notes), its figures. */
function runSection(report: Report, engine: 'embedded' | 'native', title: string): string {
  const r = report.results;
  const bulks = [r.bulk384, r.bulk1536].filter(Boolean) as BulkResult[];
  const builds = [r.build384, r.build1536].filter(Boolean) as IndexBuildResult[];
  const recalls = recallsOf(report);
  const search = r.search1536 as OverheadResult | undefined;
  const memories = [r.memory1536 ?? r.memory384, r.memory1536Insert].filter(
    (m): m is MemoryResult => m !== undefined,
  ) as MemoryResult[];
  const i = report.info;
  const notesFile = new URL(engine === 'native' ? './notes-native.md' : './notes.md', import.meta.url);
  const notes = existsSync(notesFile) ? readFileSync(notesFile, 'utf8').trim() : '';
  const pass = report.goals.filter((g) => g.pass).length;
  const md = [
    title,
    '',
    table(
      ['', ''],
      [
        ['date', i.date],
        [
          'machine',
          `${i.machine.cores} cores (${i.machine.cpu}), ${i.machine.memoryGiB} GiB RAM, load average at start ${i.machine.loadAverage.join(' / ')}, ${i.machine.platform}, Node ${i.machine.node}`,
        ],
        ['engine', `${i.engine.kind}: ${i.engine.server.split(',')[0]}`],
        [
          'pgvector',
          `${i.engine.pgvector}${i.engine.pglite === undefined ? '' : ` (@electric-sql/pglite ${i.engine.pglite}, @electric-sql/pglite-pgvector ${i.engine.pglitePgvector})`}`,
        ],
        ['parallel workers', i.engine.parallelMaintenanceWorkers],
        ['total time', `${fmt(report.totalSeconds / 60, 1)} min`],
        ['results', `bench/results/${resultsFileName(report)}`],
      ],
    ),
    '',
    `## Goals: ${pass} PASS, ${report.goals.length - pass} MISS`,
    '',
    table(
      ['', 'goal', 'measured', 'bound', 'note'],
      report.goals.map((g) => [g.pass ? 'PASS' : '**MISS**', g.description, g.shown, g.bound, g.note ?? '']),
    ),
    '',
    notes === '' ? '' : `${notes}\n`,
    '## Bulk load',
    '',
    'Each path loads the same rows (`id`, `content`, `metadata`, `embedding`) into an emptied table shaped like',
    '`documents`, **without any vector index**, so the comparison is about the client path (with an HNSW index',
    'the graph inserts dominate every path). The goals compare the store with the faster of the two raw binary',
    'paths (a), and with (b).',
    '',
    ...bulks.flatMap((b) => [bulkSection(b), '']),
    '## Search overhead',
    '',
    search === undefined ? 'Not run.' : searchSection(search),
    '',
    'The store is wired as the README recommends (`pool`: the `pg.Pool` behind `PrismaPg`), so its searches go',
    "to the pool; the same store with `searchVia: 'prisma'` (`$queryRaw`) runs beside it at concurrency 1. The",
    "store's statement is captured from its own `$queryRaw` call, then sent by `pg` with the same text and",
    'parameters (the vector as a binary Buffer). Latency is per search, client side, including the round trip.',
    engine === 'embedded'
      ? 'On the embedded server all connections share ONE PostgreSQL session: at concurrency 8 the queries queue\nbehind each other, so the figures measure queueing plus the client path, not parallel execution.'
      : 'On the native server each connection has a backend of its own: at concurrency 8 the queries run in\nparallel, as many at once as the machine has cores.',
    '',
    '## Recall',
    '',
    'Through the store, `search(q, { k: 10, efSearch })`: each search then runs in a short transaction with',
    "`set_config('hnsw.ef_search', …, true)`. Recall@10 is against exact search; every query visits every",
    'ef_search in a shuffled order. Filtered searches run at the recommended ef_search in three settings: as the',
    'planner chooses (the goals), with the HNSW index forced (`SET LOCAL enable_seqscan = off`: where the',
    "iterative scan makes the difference), and with a partial HNSW index on the 1% filter's predicate (the",
    "playbook's answer for a selective filter used often; the goals too). Latency ratios are against the",
    'unfiltered search measured in the same interleaved loop.',
    '',
    `![recall@10 vs latency across ef_search](${CHART_FILES[engine]})`,
    '',
    ...recalls.flatMap((x) => [recallSection(x), '']),
    '## Index build',
    '',
    "The migration's HNSW index (cosine, m = 16, ef_construction = 64) on the loaded table, built with the",
    "session's default `maintenance_work_mem` and with `SET LOCAL maintenance_work_mem` in the build's transaction,",
    `interleaved. ${builds[0]?.parallelWorkers ?? ''}.`,
    '',
    builds.length === 0 ? 'Not run.' : buildSection(builds),
    '',
    '## Memory of a bulk load',
    '',
    memories.length === 0 ? 'Not run.' : memories.map(memorySection).join('\n\n'),
    '',
  ].join('\n');
  return md;
}
