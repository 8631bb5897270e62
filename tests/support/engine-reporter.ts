import type { Reporter, TestModule } from 'vitest/node';
import type { Engine } from './engines.js';

/**
 * A Vitest reporter that closes each run with one line: how many tests were skipped because they run on one
 * engine only ({@link describeOnly} / {@link itOnly} in `engines.ts`), and why, e.g.
 * `engine-specific: 7 tests skipped on native (5 embedded only: the offline engine's own …; 2 …)`.
 */
export default class EngineReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const engine: Engine = process.env.TEST_DATABASE_URL ? 'native' : 'embedded';
    const reasons = new Map<string, number>();
    let count = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const only = test.meta().engineOnly;
        if (!only || only.engine === engine || test.result().state !== 'skipped') continue;
        const key = `${only.engine} only: ${only.reason}`;
        reasons.set(key, (reasons.get(key) ?? 0) + 1);
        count += 1;
      }
    }
    const why = [...reasons].map(([reason, n]) => `${n} ${reason}`).join('; ');
    const tests = count === 1 ? 'test' : 'tests';
    console.log(`\n engine-specific: ${count} ${tests} skipped on ${engine}${why ? ` (${why})` : ''}\n`);
  }
}
