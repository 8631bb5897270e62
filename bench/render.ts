/**
 * Re-renders docs/BENCHMARKS.md and docs/bench-recall.svg from a saved full run, e.g. after editing
 * bench/notes.md: `npx tsx bench/render.ts bench/results/2026-11-25-full.json`.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { type Report, renderReport } from './report.js';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: tsx bench/render.ts bench/results/<date>-full.json');
const { markdown, svg } = renderReport(JSON.parse(readFileSync(file, 'utf8')) as Report);
writeFileSync(new URL('../docs/BENCHMARKS.md', import.meta.url), markdown);
writeFileSync(new URL('../docs/bench-recall.svg', import.meta.url), svg);
console.log('docs/BENCHMARKS.md, docs/bench-recall.svg');
