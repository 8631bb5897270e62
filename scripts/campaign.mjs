#!/usr/bin/env node
// The hostile-input campaign (tests/property/campaign.test.ts) with more cases than the suite runs:
//   npm run campaign -- --cases 100000 [--seed 42]
// on the embedded database, or on the server TEST_DATABASE_URL names. The suite runs about 11,000 cases.
import { spawnSync } from 'node:child_process';

const SUITE_CASES = 11_000;
const args = process.argv.slice(2);
const value = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const cases = Number(value('cases') ?? SUITE_CASES);
if (!Number.isInteger(cases) || cases < 1) {
  console.error('--cases must be a positive integer');
  process.exit(2);
}
const env = { ...process.env, CAMPAIGN_SCALE: String(cases / SUITE_CASES) };
const seed = value('seed');
if (seed !== undefined) env.CAMPAIGN_SEED = seed;
const result = spawnSync(
  'npx',
  ['vitest', 'run', 'tests/property/campaign.test.ts', '--testTimeout', '86400000'],
  { stdio: 'inherit', env },
);
process.exit(result.status ?? 1);
