import type { PGlite } from '@electric-sql/pglite';
import { PgVectorError } from '../core/errors.js';

/** Emscripten exit status PGlite uses for Postgres's error longjmp (pglitec.c POSTGRES_MAIN_LONGJMP). */
const POSTGRES_MAIN_LONGJMP = 100;

/** What {@link guardBackend} reports about the single Postgres backend of a PGlite instance. */
export interface BackendGuard {
  /** True once the backend has exited: the PGlite instance cannot run queries any more. */
  readonly terminated: boolean;
  /** Why it exited, once `terminated`. */
  readonly reason: string | undefined;
}

interface ExitStatusLike {
  readonly name: string;
  readonly status: number;
}

function isExitStatus(error: unknown): error is ExitStatusLike {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'ExitStatus' &&
    typeof (error as { status?: unknown }).status === 'number'
  );
}

/**
 * Makes a terminated backend fail fast instead of hanging the process.
 *
 * PGlite runs one Postgres backend inside the WASM module. When that backend hits a FATAL error (a client
 * sends an invalid protocol message, `COPY ... FROM STDIN` arrives split over several messages, ...)
 * Postgres calls `exit()`. PGlite 0.5 swallows the exit in its message loop and retries forever: the
 * Node.js event loop blocks at 100 % CPU, and timers, signals and sockets all stop. The guard wraps the
 * two module entry points of that loop so that an exit marks the backend terminated and every call,
 * then and later, throws a `DATABASE_ERROR` instead. The instance must then be closed and reopened
 * (committed data is on disk; Postgres recovers it on the next start).
 *
 * ### Examples
 * ```ts
 * const guard = guardBackend(pglite);
 * if (guard.terminated) await pglite.close();
 * ```
 */
export function guardBackend(pglite: PGlite): BackendGuard {
  const mod = pglite.Module;
  const loopOnce = mod._PostgresMainLoopOnce.bind(mod);
  const longJmp = mod._PostgresMainLongJmp.bind(mod);
  const state: { terminated: boolean; reason: string | undefined } = { terminated: false, reason: undefined };

  const terminate = (status: number): void => {
    if (state.terminated) return;
    state.terminated = true;
    state.reason = `the PostgreSQL backend exited with status ${status} after a FATAL error`;
  };
  const terminatedError = (): PgVectorError =>
    new PgVectorError('DATABASE_ERROR', `The embedded database cannot run queries: ${state.reason}.`, {
      fix: 'Close the database and open it again (committed data is kept on disk; in-memory data is lost).',
    });

  mod._PostgresMainLoopOnce = () => {
    // PGlite calls the long-jump handler below for an exception with this status, outside its retry loop.
    if (state.terminated) throw { name: 'BackendTerminated', status: POSTGRES_MAIN_LONGJMP };
    try {
      loopOnce();
    } catch (error) {
      if (isExitStatus(error) && error.status !== POSTGRES_MAIN_LONGJMP) {
        terminate(error.status);
        throw { name: 'BackendTerminated', status: POSTGRES_MAIN_LONGJMP };
      }
      throw error;
    }
  };
  mod._PostgresMainLongJmp = () => {
    if (state.terminated) throw terminatedError();
    try {
      longJmp();
    } catch (error) {
      if (isExitStatus(error)) {
        terminate(error.status);
        throw terminatedError();
      }
      throw error;
    }
  };

  return {
    get terminated() {
      return state.terminated;
    },
    get reason() {
      return state.reason;
    },
  };
}
