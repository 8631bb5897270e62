/**
 * Re-renders docs/BENCHMARKS.md and the recall charts from saved full runs, e.g. after editing
 * bench/notes.md or bench/notes-native.md: `npx tsx bench/render.ts` (the latest full run of each engine in
 * bench/results/), or name the files: `npx tsx bench/render.ts bench/results/<date>-full.json
 * bench/results/<date>-native-full.json`.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { latestFullRun, type Report, renderReport, reportEngine } from './report.js';

const named = process.argv.slice(2).map((file) => JSON.parse(readFileSync(file, 'utf8')) as Report);
const runs = {
  embedded:
    named.find((r) => reportEngine(r) === 'embedded') ??
    (named.length === 0 ? latestFullRun('embedded') : undefined),
  native:
    named.find((r) => reportEngine(r) === 'native') ??
    (named.length === 0 ? latestFullRun('native') : undefined),
};
if (!runs.embedded && !runs.native)
  throw new Error('usage: tsx bench/render.ts [bench/results/<date>-[native-]full.json …]');
const { markdown, charts } = renderReport(runs);
writeFileSync(new URL('../docs/BENCHMARKS.md', import.meta.url), markdown);
for (const [name, svg] of Object.entries(charts))
  writeFileSync(new URL(`../docs/${name}`, import.meta.url), svg);
console.log(['docs/BENCHMARKS.md', ...Object.keys(charts).map((name) => `docs/${name}`)].join(', '));
