import { PgVectorError } from '../core/errors.js';

/** How the watchdog of `startEmbeddedServer` probes the server. */
export interface WatchdogOptions {
  /** Pause between two probes, in ms. Default 5000. */
  readonly intervalMs?: number | undefined;
  /** How long a probe may wait for its answer, in ms of free event loop. Default 5000. */
  readonly timeoutMs?: number | undefined;
  /** Consecutive failed probes that count as a wedge. Default 2. */
  readonly failuresBeforeRestart?: number | undefined;
}

/** What the watchdog watches, and what it calls when something is wrong. */
export interface WatchdogTarget {
  /** Rejects when the server does not answer within `timeoutMs` (see `probeWireServer`). */
  probe(timeoutMs: number): Promise<void>;
  /** True when the database backend has exited. */
  isTerminated(): boolean;
  /** True while one client holds the session (transaction, COPY): the others wait, by design. */
  isHeldByClient(): boolean;
  /** The backend has exited. */
  onTerminated(): void;
  /** Probes wait behind a client's transaction; once per episode. */
  onBlocked(): void;
  /** `failuresBeforeRestart` probes failed in a row; `again` when this already happened since the last success. */
  onUnresponsive(reason: string, again: boolean): Promise<void>;
}

/**
 * Probes a server at a fixed interval and tells its owner what kind of trouble it is in: a terminated
 * backend, a client holding the session (not a wedge), or a server that stopped answering.
 *
 * ### Examples
 * ```ts
 * const watchdog = new Watchdog({ intervalMs: 1000 }, target);
 * watchdog.start();
 * // ...
 * watchdog.stop();
 * ```
 */
export class Watchdog {
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #failuresBeforeRestart: number;
  readonly #target: WatchdogTarget;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #failures = 0;
  #unresponsiveSinceHealthy = false;
  #blockedReported = false;

  /** @throws PgVectorError `INVALID_CONFIG` for a non-positive setting. */
  constructor(options: WatchdogOptions, target: WatchdogTarget) {
    this.#intervalMs = positive('intervalMs', options.intervalMs ?? 5_000);
    this.#timeoutMs = positive('timeoutMs', options.timeoutMs ?? 5_000);
    this.#failuresBeforeRestart = positive('failuresBeforeRestart', options.failuresBeforeRestart ?? 2);
    this.#target = target;
  }

  /** Starts probing (the first probe runs after one interval). Does not keep the process alive. */
  start(): void {
    this.#running = true;
    this.#schedule();
  }

  /** Stops probing; a probe in flight finishes and is ignored. */
  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      void this.#check().finally(() => {
        if (this.#running) this.#schedule();
      });
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    try {
      await this.#target.probe(this.#timeoutMs);
      this.#failures = 0;
      this.#unresponsiveSinceHealthy = false;
      this.#blockedReported = false;
      return;
    } catch (error) {
      if (!this.#running) return;
      if (this.#target.isTerminated()) {
        this.#target.onTerminated();
        return;
      }
      if (this.#target.isHeldByClient()) {
        this.#failures = 0;
        if (!this.#blockedReported) {
          this.#blockedReported = true;
          this.#target.onBlocked();
        }
        return;
      }
      this.#failures += 1;
      if (this.#failures < this.#failuresBeforeRestart) return;
      this.#failures = 0;
      const reason = `the server did not answer ${this.#failuresBeforeRestart} probes (${
        error instanceof Error ? error.message : String(error)
      })`;
      const again = this.#unresponsiveSinceHealthy;
      this.#unresponsiveSinceHealthy = true;
      await this.#target.onUnresponsive(reason, again);
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new PgVectorError(
      'INVALID_CONFIG',
      `Invalid watchdog.${name} ${value}: expected a positive number.`,
    );
  }
  return value;
}
