// Writes examples/corpus.jsonl: the demo's sample corpus of short documents of several types. Deterministic
// (seeded), so the file in git is reproducible: `node scripts/make-corpus.mjs`.
import { writeFileSync } from 'node:fs';

const SIZE = 2400;
const TYPES = [
  ['article', 0.6],
  ['note', 0.2],
  ['faq', 0.12],
  ['changelog', 0.08],
];
const topics = {
  search: ['vector search', 'semantic search', 'nearest-neighbour search', 'hybrid search', 'reranking'],
  index: ['HNSW indexes', 'IVFFlat lists', 'partial indexes', 'index builds', 'index bloat'],
  tuning: ['ef_search', 'recall targets', 'query latency', 'iterative scans', 'probes'],
  ops: ['VACUUM ANALYZE', 'bulk loads', 'connection pools', 'migrations', 'backups'],
  prisma: ['Prisma migrate', 'raw queries', 'driver adapters', 'schema drift', 'transactions'],
  life: ['grocery lists', 'weekend plans', 'the garden', 'a birthday party', 'the plumber'],
};
const verbs = ['explains', 'compares', 'measures', 'walks through', 'questions', 'summarises', 'debugs'];
const angles = [
  'for production workloads',
  'on a small team budget',
  'after a large import',
  'with filtered queries',
  'in a Next.js app',
  'in a NestJS service',
  'on managed PostgreSQL',
  'without a second database',
];
const lang = ['en', 'en', 'en', 'de', 'fr'];

let seed = 42;
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const pickType = () => {
  let r = rand();
  for (const [t, p] of TYPES) {
    r -= p;
    if (r < 0) return t;
  }
  return TYPES[0][0];
};

const lines = [];
for (let i = 0; i < SIZE; i++) {
  const type = pickType();
  const area =
    type === 'note' && rand() < 0.6 ? 'life' : pick(Object.keys(topics).filter((k) => k !== 'life'));
  const a = pick(topics[area]);
  const b = pick(topics[area === 'life' ? 'life' : pick(['search', 'index', 'tuning', 'ops', 'prisma'])]);
  const content =
    type === 'faq'
      ? `Q: How do ${a} and ${b} interact ${pick(angles)}? A: It depends on your data; start with the defaults.`
      : type === 'changelog'
        ? `Release ${1 + Math.floor(i / 40)}.${i % 40}: improved ${a}; fixed ${b} ${pick(angles)}.`
        : type === 'note'
          ? `Note to self: ${a}, then ${b} ${pick(angles)}.`
          : `This article ${pick(verbs)} ${a} and ${b} ${pick(angles)}.`;
  lines.push(JSON.stringify({ content, metadata: { type, topic: area, lang: pick(lang), n: i } }));
}
writeFileSync(new URL('../examples/corpus.jsonl', import.meta.url), `${lines.join('\n')}\n`);
console.log(`wrote ${lines.length} documents`);
