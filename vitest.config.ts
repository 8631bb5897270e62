import { defineConfig } from 'vitest/config';
import EngineReporter from './tests/support/engine-reporter.js';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Each integration file starts its own embedded PostgreSQL (~0.5 GB, single-threaded): two at a time on
    // the 2-core machines we target.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    typecheck: { enabled: true, include: ['tests/**/*.test-d.ts'] },
    // The JSON report lets .ci/run print a one-line count of passed and failed tests; the engine reporter
    // closes the run with the tests that run on one engine only, and why (tests/support/engines.ts).
    // `--outputFile.json=<file>` writes it elsewhere (.ci/run's native pass).
    reporters: ['default', 'json', new EngineReporter()],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
