import { describe, it, type TestFunction } from 'vitest';

/**
 * The engine a test run is on: `embedded` — PGlite + pgvector in WASM, one per test file (the default) — or
 * `native`: the real PostgreSQL + pgvector server that `TEST_DATABASE_URL` names.
 */
export type Engine = 'embedded' | 'native';

/** The engine of this run: `native` when `TEST_DATABASE_URL` is set, else `embedded`. */
export const engine: Engine = process.env.TEST_DATABASE_URL ? 'native' : 'embedded';

declare module 'vitest' {
  interface TaskMeta {
    /** Set by {@link describeOnly} / {@link itOnly}: the only engine the test runs on, and why. */
    engineOnly?: { readonly engine: Engine; readonly reason: string };
  }
}

/**
 * `describe(name, fn)` (with `options.timeout` per test, if given) whose tests run only on `only`; on the other engine they are skipped and counted,
 * with `reason`, in the line the engine reporter prints at the end of the run
 * (`engine-specific: N tests skipped on native (…)`). The one place a test says why it cannot run
 * everywhere: never `describe.skipIf(...)` on the engine.
 *
 * ### Examples
 * ```ts
 * describeOnly('embedded', 'needs a PostgreSQL without pgvector', 'PostgreSQL without pgvector', () => {
 *   it('migrate deploy says what is wrong', async () => { … });
 * });
 * ```
 */
export function describeOnly(
  only: Engine,
  reason: string,
  name: string,
  fn: () => void,
  options: { readonly timeout?: number } = {},
): void {
  describe(name, { ...options, skip: engine !== only, meta: { engineOnly: { engine: only, reason } } }, fn);
}

/**
 * `it(name, fn, timeout)` that runs only on `only`; on the other engine it is skipped and counted with
 * `reason`, as with {@link describeOnly}.
 *
 * ### Examples
 * ```ts
 * itOnly('native', 'pg_terminate_backend needs real backends', 'survives a terminated backend', async () => { … });
 * ```
 */
export function itOnly(only: Engine, reason: string, name: string, fn: TestFunction, timeout?: number): void {
  it(name, { skip: engine !== only, timeout, meta: { engineOnly: { engine: only, reason } } }, fn);
}
