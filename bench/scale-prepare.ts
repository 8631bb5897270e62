/**
 * Loads and indexes the scale benchmark's tables on the bench cluster, resumably (each step is recorded;
 * a rerun continues where the last one stopped). `npm run bench -- --scale` does the same before it
 * measures; this entry point lets the long builds run on their own first:
 *
 *   npx tsx bench/scale-prepare.ts                       # every table of a full run
 *   npx tsx bench/scale-prepare.ts --sizes 384x100k      # some
 */

import { parseArgs } from 'node:util';
import { pgClient } from './engine.js';
import { openScaleCluster } from './scale-cluster.js';
import { FULL_TABLES, parseTables, prepareScaleTable, scaleTableName } from './scale-data.js';

const { values } = parseArgs({ options: { sizes: { type: 'string' } } });
const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);
const tables = values.sizes === undefined ? FULL_TABLES : parseTables(values.sizes);
const server = await openScaleCluster(log);
const client = await pgClient(server.url);
try {
  for (const t of tables) {
    const steps = await prepareScaleTable(client, t, log);
    log(
      `${scaleTableName(t)}: ready ${JSON.stringify(Object.fromEntries([...steps].map(([k, v]) => [k, Math.round(v.seconds * 10) / 10])))}`,
    );
  }
} finally {
  await client.end();
}
log('prepare: done (the bench cluster keeps running)');
