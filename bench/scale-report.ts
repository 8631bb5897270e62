/**
 * Renders the scale benchmark (bench/scale.ts) as the "Search at scale (native)" section of
 * docs/BENCHMARKS.md and as docs/bench-scale.svg. The section sits between two marker comments; the rest of
 * the page is bench/report.ts's, which keeps this section when it re-renders the page (it appends
 * {@link latestScaleSection}). Readings written by hand live in bench/notes-scale.md and are appended.
 */

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { CaseResult, ContenderResult, TableResult, Verdict } from './scale.js';
import { TUNE_QUERIES } from './scale-data.js';
import { fmt } from './stats.js';

export interface ScaleRun {
  readonly info: {
    readonly date: string;
    readonly engine: { readonly server: string; readonly pgvector: string };
    readonly machine: { readonly cores: number; readonly memoryGiB: number; readonly cpu: string };
  };
  readonly settings: Record<string, string>;
  readonly mixture: { readonly clusters: number; readonly spread: number; readonly seed: number };
  readonly queries: number;
  readonly tables: readonly TableResult[];
  readonly kCap?: {
    sessionEfSearch: string;
    storeMinRows: number;
    storeFilteredMinRows: number;
    plainSqlMinRows: number;
    pass: boolean;
    table: string;
  };
  readonly rolledBack?: {
    liveRows: number;
    rolledBackRows: number;
    storeMinRows: number;
    storeFilteredMinRows: number;
    plainSqlMinRows: number;
    pass: boolean;
  };
  readonly addMany?: { rows: number; seconds: number; rowsPerSecond: number; method: string };
  readonly notes?: readonly string[];
  readonly seconds?: number;
  /** Tables measured again later (`--merge`), with when. */
  readonly remeasured?: readonly { readonly table: string; readonly at: string }[];
}

export const SCALE_BEGIN =
  '<!-- scale:begin (bench/scale-report.ts renders this section from bench/results/<date>-scale.json) -->';
export const SCALE_END = '<!-- scale:end -->';

/** The newest full scale run saved in bench/results/, if any. */
export function latestScaleRun(): ScaleRun | undefined {
  const dir = new URL('./results/', import.meta.url);
  const names = (existsSync(dir) ? readdirSync(dir) : [])
    .filter((n) => /^\d{4}-\d{2}-\d{2}-scale\.json$/.test(n))
    .sort();
  const last = names.at(-1);
  return last === undefined ? undefined : (JSON.parse(readFileSync(new URL(last, dir), 'utf8')) as ScaleRun);
}

/** The section of the newest full scale run ('' when there is none): for bench/report.ts. */
export function latestScaleSection(): string {
  const run = latestScaleRun();
  return run === undefined ? '' : scaleSection(run);
}

const ms = (x: number) =>
  Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) : '—';
const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const pct = (x: number) =>
  x >= 0.1 ? `${(x * 100).toFixed(0)}%` : x >= 0.01 ? `${(x * 100).toFixed(1)}%` : `${(x * 100).toFixed(2)}%`;
const sizeLabel = (t: { rows: number; dims: number }) =>
  `${t.rows >= 1_000_000 ? `${t.rows / 1_000_000}M` : `${t.rows / 1000}k`} × ${t.dims}`;
const mark = (pass: boolean | undefined) => (pass === undefined ? '—' : pass ? 'PASS' : '**MISS**');

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function strategyText(c: ContenderResult | undefined): string {
  const s = c?.strategies;
  if (s === undefined || Object.keys(s).length === 0) return '—';
  return Object.entries(s)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => (Object.keys(s).length === 1 ? name : `${name} ${n}`))
    .join(', ');
}

function goalOf(v: Verdict | undefined, id: string): boolean | undefined {
  return v?.goals.find((g) => g.id === id)?.pass;
}

function caseRows(cases: readonly CaseResult[]): string[][] {
  const rows: string[][] = [];
  for (const c of cases) {
    for (const v of c.verdicts) {
      const s = c.contenders.find((x) => x.name === v.store);
      const b = c.contenders.find((x) => x.name === v.baseline);
      const same = v.sameSql === undefined ? undefined : c.contenders.find((x) => x.name === v.sameSql);
      const p50Goal = goalOf(v, 'p50 vs baseline');
      const sameGoal = goalOf(v, 'p50 vs same SQL');
      rows.push([
        v.store === 'store' ? c.label : '',
        v.store === 'store' ? int(c.matching.median) : '',
        v.store === 'store' ? pct(c.selectivity) : '',
        v.store.replace(/^store ?/, '') || 'defaults',
        s?.error === undefined ? ms(s?.p50 ?? Number.NaN) : 'error',
        ms(s?.p99 ?? Number.NaN),
        fmt(s?.recall ?? Number.NaN, 3),
        String(s?.minRows ?? '—'),
        strategyText(s),
        `${v.baseline ?? '—'}${v.baselineReachesTarget ? '' : ' (best recall; < 0.95)'}`,
        ms(b?.p50 ?? Number.NaN),
        fmt(b?.recall ?? Number.NaN, 3),
        `${fmt(v.ratio)}×${same === undefined || v.sameSqlRatio === undefined ? '' : ` (${fmt(v.sameSqlRatio)}× ${v.sameSql})`}`,
        `${mark(goalOf(v, 'k rows'))} / ${mark(goalOf(v, 'recall'))} / ${mark(p50Goal)}${sameGoal === undefined ? '' : ` / ${mark(sameGoal)}`}`,
      ]);
    }
  }
  return rows;
}

function wideRows(c: CaseResult): string[][] {
  return c.contenders.map((x) => [
    x.kind === 'store' ? `**${x.name}**` : x.name,
    x.error === undefined ? ms(x.p50) : `error: ${x.error}`,
    ms(x.p99),
    fmt(x.recall, 3),
    String(x.minRows),
  ]);
}

/** Every goal of the run: `[table, case, store, goal, pass]`. */
export function allGoals(
  run: ScaleRun,
): { table: string; case: string; store: string; id: string; pass: boolean; shown: string }[] {
  const out: { table: string; case: string; store: string; id: string; pass: boolean; shown: string }[] = [];
  for (const t of run.tables)
    for (const c of t.cases)
      for (const v of c.verdicts)
        for (const g of v.goals)
          out.push({ table: t.table, case: c.case, store: v.store, id: g.id, pass: g.pass, shown: g.shown });
  return out;
}

/** The markdown section, markers included. */
export function scaleSection(run: ScaleRun): string {
  const goals = allGoals(run);
  const byStore = (store: string) => goals.filter((g) => g.store === store);
  const summary = (store: string) => {
    const g = byStore(store);
    return `${g.filter((x) => x.pass).length} PASS, ${g.filter((x) => !x.pass).length} MISS`;
  };
  const stores = [...new Set(goals.map((g) => g.store))];
  const builds = run.tables.map((t) => {
    const s = t.steps;
    const secs = (k: string) => (s[k] === undefined ? '—' : `${fmt(s[k].seconds, 1)} s`);
    const load = s.load?.detail as { rowsPerSecond?: number; generateSeconds?: number } | undefined;
    const copySeconds = (s.load?.seconds ?? Number.NaN) - (load?.generateSeconds ?? 0);
    const vectorIndexes = Object.keys(s).filter((k) => k.endsWith('hnsw'));
    return [
      sizeLabel(t),
      `${secs('load')}, of which ${fmt(load?.generateSeconds ?? Number.NaN, 1)} s generating the rows in JS (COPY ${int(t.rows / copySeconds)} rows/s)`,
      vectorIndexes
        .map(
          (k) =>
            `${k}: ${secs(k)} (${int(((s[k]?.detail as { bytes?: number } | null)?.bytes ?? Number.NaN) / 2 ** 20)} MiB)`,
        )
        .join('; ') || '—',
      ['gin', 'tenant', 'price', 'day', 'created']
        .filter((k) => s[k] !== undefined)
        .map((k) => `${k} ${secs(k)}`)
        .join(', ') || '—',
      t.defaultRecall === undefined ? '—' : `${fmt(t.defaultRecall.k10, 3)}`,
    ];
  });
  const parts: string[] = [
    SCALE_BEGIN,
    `## Search at scale (native), run of ${run.info.date.slice(0, 10)}`,
    '',
    '`npm run bench -- --scale` (bench/scale.ts; `--quick` is a 20k-row smoke run on a throwaway cluster, `--sizes 384x100k,1536x200k`',
    'picks tables, `--queries N` the queries per case). It runs on the native server the project builds',
    `(${run.info.engine.server.split(',')[0]}, pgvector ${run.info.engine.pgvector}; ${run.info.machine.cores} cores, ${run.info.machine.memoryGiB} GiB),`,
    'on one bench cluster that is kept between runs (its data directory is recorded in the git-ignored `.native/bench-cluster.json`):',
    'tables are loaded and indexed once, each step recorded in a `scale_steps` table, and reused while complete.',
    `Settings: ${Object.entries(run.settings)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    `**Data.** The Gaussian mixture of bench/dataset.ts with ${run.mixture.clusters} clusters and spread ${run.mixture.spread} (seed ${run.mixture.seed}),`,
    'so that default HNSW settings miss the 0.95 target. Metadata, independent of the clusters: `tenant` one of `t0…t999`,',
    '`s10 = "y"` on 10%, `s1 = "y"` on 1%, `price` a JSON number in [0, 1000), `day` an ISO date over 2023-2025, and the',
    '`created_at` column over the same span. Loaded with binary COPY. Indexes: HNSW `vector_cosine_ops` m 16 / ef_construction 64',
    '(at 1M × 384 m 32 / ef_construction 128, what `tune` advised there: on the default graph no ef_search reached 0.95, ef 1000',
    'gave 0.934 with a lower bound of 0.915; `mainHnswBuild` in bench/scale-data.ts),',
    "a partial HNSW index `WHERE ((\"metadata\" ->> 's1'::text) = 'y'::text)` (the store is configured with that predicate),",
    'GIN `jsonb_path_ops`, B-trees on the exact expressions of src/core/filter-expressions.ts (tenant and day as text, day also',
    'as a string index — the text of JSON strings only, `migration index --kind string`, what `advise` recommends for string',
    'ranges — and price as the numeric CASE expression) and on `created_at`; for 3072 dims a `halfvec` expression HNSW index',
    'and a `binary_quantize` one.',
    '',
    `**Recall profiles.** Before its cases each 384/1536-dim table is tuned as a user would (\`tune --k 10,50 --persist index\`,`,
    `${TUNE_QUERIES} query vectors of the same mixture, not the cases' own; the ladder refined where it doubles past 0.95), and so`,
    'is its partial index (`--partial-index s1=y --filter \'{"s1":"y"}\'`): the store with `recall: 0.95` picks its',
    '`ef_search` from these profiles, on the lower bound of their 95% intervals.',
    '',
    `**Method.** ${run.queries} queries per case (fresh mixture draws; filter operands drawn per query, seeded). Every`,
    'contender runs each query in turn, the order shuffled per query. Recall is against exact filtered search (no vector index,',
    "cached under bench/results/scale-truth/). Hand-written variants through `pg` with binary vector parameters: the planner's",
    'choice over an index-served predicate (GIN `@>` or expression B-tree), exact ranking over the index-selected rows',
    '(`… WHERE pred OFFSET 0` then `ORDER BY d LIMIT k`), HNSW with `hnsw.iterative_scan = relaxed_order` at three',
    '`ef_search`/`max_scan_tuples` pairs, the partial index where it applies, and for unfiltered searches an `ef_search` ladder',
    '(`SET LOCAL` in a transaction). The **baseline** of a case is the fastest variant whose recall@k reaches 0.95.',
    'Goals per case: k rows whenever k rows match; recall ≥ 0.95; store p50 ≤ 1.2× the baseline; unfiltered also',
    "p50 ≤ 1.1× the same SQL through `pg` — the store's very statement (captured from its pool), text and parameters.",
    "All hand-written SQL goes through the store's own `pg.Pool`, so both meet the same warm backend, and each table",
    'and its indexes are prewarmed (`pg_prewarm`) before its cases.',
    '',
    `**Goals:** ${stores.map((s) => `${s}: ${summary(s)}`).join('; ')}.`,
    ...(run.remeasured === undefined || run.remeasured.length === 0
      ? []
      : [
          '',
          `**Re-measured later** (\`--sizes … --merge\`, same cluster and tables, after a change that moved only these tables' plans): ${run.remeasured.map((r) => `\`${r.table}\` at ${r.at.slice(0, 16).replace('T', ' ')} UTC`).join(', ')}.`,
        ]),
    '',
    '### Tables and builds',
    '',
    table(
      ['table', 'load (binary COPY)', 'vector indexes', 'other indexes', 'default HNSW recall@10'],
      builds,
    ),
  ];
  for (const t of run.tables) {
    parts.push('', `### ${sizeLabel(t)} (\`${t.table}\`)`, '');
    if (t.dims > 2000) {
      for (const c of t.cases) {
        parts.push(
          `${c.label}, ${c.queries} queries:`,
          '',
          table(['contender', 'p50 ms', 'p99 ms', 'recall', 'min rows'], wideRows(c)),
        );
        for (const v of c.verdicts)
          parts.push(
            '',
            `- ${v.store}: baseline ${v.baseline ?? '—'}, ${fmt(v.ratio)}×${v.sameSqlRatio === undefined ? '' : `; vs ${v.sameSql}: ${fmt(v.sameSqlRatio)}×`}; ${v.goals.map((g) => `${g.pass ? 'PASS' : 'MISS'} ${g.id} (${g.shown}${g.note === undefined || g.id !== 'p50 vs baseline' ? '' : `; ${g.note}`})`).join(', ')}`,
          );
      }
      continue;
    }
    parts.push(
      table(
        [
          'case',
          'rows matching',
          'sel.',
          'store',
          'p50 ms',
          'p99 ms',
          'recall',
          'min rows',
          'strategy',
          'baseline',
          'p50 ms',
          'recall',
          'ratio',
          'k rows / recall / p50',
        ],
        caseRows(t.cases),
      ),
    );
  }
  parts.push('', '### Growth with table size (384 dims, store with defaults, p50 ms / recall)', '');
  const growth = run.tables.filter((t) => t.dims === 384).sort((a, b) => a.rows - b.rows);
  if (growth.length > 0) {
    const caseIds = growth[0]!.cases.map((c) => c.case);
    parts.push(
      table(
        [
          'case',
          ...growth.map((t) => `${sizeLabel(t)} store`),
          ...growth.map((t) => `${sizeLabel(t)} baseline`),
        ],
        caseIds.map((id) => {
          const cells = (pick: (c: CaseResult) => ContenderResult | undefined) =>
            growth.map((t) => {
              const c = t.cases.find((x) => x.case === id);
              const x = c === undefined ? undefined : pick(c);
              return x === undefined ? '—' : `${ms(x.p50)} / ${fmt(x.recall, 2)}`;
            });
          return [
            growth[0]!.cases.find((c) => c.case === id)?.label ?? id,
            ...cells((c) => c.contenders.find((x) => x.name === 'store')),
            ...cells((c) => c.contenders.find((x) => x.name === c.verdicts[0]?.baseline)),
          ];
        }),
      ),
    );
  }
  parts.push('', '### k never capped, rolled-back writes, bulk load', '');
  if (run.kCap !== undefined)
    parts.push(
      `- **k cap** (${mark(run.kCap.pass)}): with \`ALTER DATABASE … SET hnsw.ef_search = ${run.kCap.sessionEfSearch}\`, a store search with k = 50 on \`${run.kCap.table}\` returned at least ${run.kCap.storeMinRows} rows unfiltered and ${run.kCap.storeFilteredMinRows} filtered (\`s10\`); the plain SQL returned ${run.kCap.plainSqlMinRows}. The setting is reset afterwards.`,
    );
  if (run.rolledBack !== undefined)
    parts.push(
      `- **Rolled-back bulk load** (${mark(run.rolledBack.pass)}): ${int(run.rolledBack.liveRows)} live rows with HNSW, a ${int(run.rolledBack.rolledBackRows)}-row COPY rolled back, no VACUUM (autovacuum off on the table): the store's k = 10 searches returned at least ${run.rolledBack.storeMinRows} rows unfiltered and ${run.rolledBack.storeFilteredMinRows} filtered; the plain SQL ${run.rolledBack.plainSqlMinRows}.`,
    );
  if (run.addMany !== undefined)
    parts.push(
      `- **addMany** (${run.addMany.method} through the pool, VACUUM ANALYZE after): ${int(run.addMany.rows)} × 384 rows in ${fmt(run.addMany.seconds, 1)} s, ${int(run.addMany.rowsPerSecond)} rows/s.`,
    );
  const misses = goals.filter((g) => !g.pass);
  parts.push('', '### Misses', '');
  parts.push(
    misses.length === 0
      ? 'None.'
      : misses.map((g) => `- ${g.table} · ${g.case} · ${g.store}: ${g.id} ${g.shown}`).join('\n'),
  );
  if ((run.notes ?? []).length > 0)
    parts.push('', 'Notes of the run:', '', ...(run.notes ?? []).map((n) => `- ${n}`));
  const notesFile = new URL('./notes-scale.md', import.meta.url);
  if (existsSync(notesFile)) parts.push('', readFileSync(notesFile, 'utf8').trim());
  parts.push('', '![latency and recall against selectivity](bench-scale.svg)', '', SCALE_END);
  return parts.join('\n');
}

/** Latency (p50, log scale) and recall against selectivity (log scale), a line per table, store vs baseline. */
export function scaleChart(run: ScaleRun): string {
  const W = 760;
  const H = 620;
  const m = { l: 70, r: 200, t: 40, b: 50 };
  const gap = 40;
  const plotH = (H - m.t - m.b - gap) / 2;
  const series = run.tables
    .filter((t) => t.dims <= 2000)
    .map((t) => {
      const cases = t.cases.filter((c) => c.k === 10).sort((a, b) => a.selectivity - b.selectivity);
      const pick = (c: CaseResult, which: 'store' | 'baseline') =>
        c.contenders.find((x) => x.name === (which === 'store' ? 'store' : c.verdicts[0]?.baseline));
      return { t, cases, pick };
    });
  const sels = series.flatMap((s) => s.cases.map((c) => Math.max(c.selectivity, 1e-5)));
  const lats = series
    .flatMap((s) => s.cases.flatMap((c) => [s.pick(c, 'store')?.p50, s.pick(c, 'baseline')?.p50]))
    .filter((x): x is number => x !== undefined && Number.isFinite(x) && x > 0);
  const xMin = Math.log10(Math.min(...sels, 1e-3)) - 0.2;
  const xMax = 0.1;
  const yMin = Math.floor(Math.log10(Math.min(...lats, 0.5)));
  const yMax = Math.ceil(Math.log10(Math.max(...lats, 10)));
  const x = (sel: number) =>
    m.l + ((Math.log10(Math.max(sel, 1e-5)) - xMin) / (xMax - xMin)) * (W - m.l - m.r);
  const yLat = (v: number) => m.t + plotH - ((Math.log10(v) - yMin) / (yMax - yMin)) * plotH;
  const rMin = 0.5;
  const top2 = m.t + plotH + gap;
  const yRec = (v: number) => top2 + plotH - ((Math.max(v, rMin) - rMin) / (1 - rMin)) * plotH;
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${m.l}" y="22" font-size="14" font-weight="bold">Search at scale: p50 latency and recall@10 against filter selectivity</text>`,
  ];
  for (let e = yMin; e <= yMax; e++) {
    out.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${yLat(10 ** e).toFixed(1)}" y2="${yLat(10 ** e).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${m.l - 8}" y="${(yLat(10 ** e) + 4).toFixed(1)}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)}</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const v = rMin + ((1 - rMin) * i) / 5;
    out.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${yRec(v).toFixed(1)}" y2="${yRec(v).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${m.l - 8}" y="${(yRec(v) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(1)}</text>`,
    );
  }
  out.push(
    `<line x1="${m.l}" x2="${W - m.r}" y1="${yRec(0.95).toFixed(1)}" y2="${yRec(0.95).toFixed(1)}" stroke="#888" stroke-dasharray="4 3"/>`,
    `<text x="${W - m.r + 4}" y="${(yRec(0.95) + 4).toFixed(1)}" fill="#555" font-size="10">0.95</text>`,
  );
  for (let e = Math.ceil(xMin); e <= 0; e++) {
    const px = x(10 ** e).toFixed(1);
    out.push(
      `<line x1="${px}" x2="${px}" y1="${m.t}" y2="${m.t + plotH}" stroke="#eee"/>`,
      `<line x1="${px}" x2="${px}" y1="${top2}" y2="${top2 + plotH}" stroke="#eee"/>`,
      `<text x="${px}" y="${H - m.b + 16}" text-anchor="middle">${pct(10 ** e)}</text>`,
    );
  }
  out.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">rows the filter matches (share of the table, log scale; 100% = unfiltered)</text>`,
    `<text transform="translate(18 ${m.t + plotH / 2}) rotate(-90)" text-anchor="middle">p50 ms (log)</text>`,
    `<text transform="translate(18 ${top2 + plotH / 2}) rotate(-90)" text-anchor="middle">recall@10</text>`,
  );
  series.forEach((s, i) => {
    const c = colours[i % colours.length];
    for (const which of ['store', 'baseline'] as const) {
      const dash = which === 'baseline' ? ' stroke-dasharray="5 4"' : '';
      const pts = s.cases
        .map((cs) => ({ sel: cs.selectivity, r: s.pick(cs, which) }))
        .filter((p) => p.r !== undefined && Number.isFinite(p.r.p50) && p.r.p50 > 0);
      out.push(
        `<polyline points="${pts.map((p) => `${x(p.sel).toFixed(1)},${yLat(p.r!.p50).toFixed(1)}`).join(' ')}" fill="none" stroke="${c}" stroke-width="${which === 'store' ? 2 : 1.5}"${dash}/>`,
        `<polyline points="${pts.map((p) => `${x(p.sel).toFixed(1)},${yRec(p.r!.recall).toFixed(1)}`).join(' ')}" fill="none" stroke="${c}" stroke-width="${which === 'store' ? 2 : 1.5}"${dash}/>`,
      );
      for (const p of pts) {
        const shape = which === 'store' ? 'circle' : 'rect';
        for (const [px, py] of [
          [x(p.sel), yLat(p.r!.p50)],
          [x(p.sel), yRec(p.r!.recall)],
        ] as const) {
          out.push(
            shape === 'circle'
              ? `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3.5" fill="${c}"/>`
              : `<rect x="${(px - 3).toFixed(1)}" y="${(py - 3).toFixed(1)}" width="6" height="6" fill="none" stroke="${c}"/>`,
          );
        }
      }
    }
    out.push(
      `<line x1="${W - m.r + 10}" x2="${W - m.r + 34}" y1="${m.t + 16 + i * 20}" y2="${m.t + 16 + i * 20}" stroke="${c}" stroke-width="2"/>`,
      `<text x="${W - m.r + 40}" y="${m.t + 20 + i * 20}">${sizeLabel(s.t)}</text>`,
    );
  });
  const ly = m.t + 30 + series.length * 20;
  out.push(
    `<line x1="${W - m.r + 10}" x2="${W - m.r + 34}" y1="${ly}" y2="${ly}" stroke="#333" stroke-width="2"/><circle cx="${W - m.r + 22}" cy="${ly}" r="3.5" fill="#333"/>`,
    `<text x="${W - m.r + 40}" y="${ly + 4}">store (defaults)</text>`,
    `<line x1="${W - m.r + 10}" x2="${W - m.r + 34}" y1="${ly + 20}" y2="${ly + 20}" stroke="#333" stroke-dasharray="5 4"/><rect x="${W - m.r + 19}" y="${ly + 17}" width="6" height="6" fill="none" stroke="#333"/>`,
    `<text x="${W - m.r + 40}" y="${ly + 24}">baseline (hand SQL)</text>`,
    `<text x="${W - m.r + 10}" y="${ly + 48}" font-size="10" fill="#555">baseline: fastest hand-written</text>`,
    `<text x="${W - m.r + 10}" y="${ly + 61}" font-size="10" fill="#555">variant with recall ≥ 0.95</text>`,
    `<text x="${W - m.r + 10}" y="${ly + 74}" font-size="10" fill="#555">k = 10 cases</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}

/** Writes the section into docs/BENCHMARKS.md (replacing the previous one, or appended) and the chart. */
export function renderScaleDocs(run: ScaleRun): string[] {
  const docs = new URL('../docs/BENCHMARKS.md', import.meta.url);
  const current = existsSync(docs) ? readFileSync(docs, 'utf8') : '# Benchmarks\n';
  writeFileSync(docs, withScaleSection(current, scaleSection(run)));
  writeFileSync(new URL('../docs/bench-scale.svg', import.meta.url), scaleChart(run));
  return ['docs/BENCHMARKS.md', 'docs/bench-scale.svg'];
}

/** `markdown` with its scale section replaced by `section` (or `section` appended). */
export function withScaleSection(markdown: string, section: string): string {
  const begin = markdown.indexOf(SCALE_BEGIN);
  const end = markdown.indexOf(SCALE_END);
  if (begin >= 0 && end > begin)
    return `${markdown.slice(0, begin)}${section}${markdown.slice(end + SCALE_END.length)}`;
  return `${markdown.trimEnd()}\n\n${section}\n`;
}

// `npx tsx bench/scale-report.ts [bench/results/<date>-scale.json]`: re-renders the section and the chart
// (the latest full scale run by default), e.g. after editing bench/notes-scale.md.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  const run = file === undefined ? latestScaleRun() : (JSON.parse(readFileSync(file, 'utf8')) as ScaleRun);
  if (run === undefined)
    throw new Error('usage: tsx bench/scale-report.ts [bench/results/<date>-scale.json]');
  console.log(renderScaleDocs(run).join(', '));
}
