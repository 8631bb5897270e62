import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { isPgVectorError, PgVectorError } from '../core/errors.js';
import { isErrnoException } from './data-dir.js';
import { probeWireServer } from './health-probe.js';
import { type EmbeddedDatabase, type EmbeddedDatabaseOptions, openEmbeddedDatabase } from './pglite.js';
import { DEFAULT_EMBEDDED_PORT, DEFAULT_MAX_CONNECTIONS } from './server-defaults.js';
import { Watchdog, type WatchdogOptions } from './watchdog.js';
import { createWireGuard, DEFAULT_STALLED_BATCH_TIMEOUT_MS, type WireGuard } from './wire-guard.js';

export { DEFAULT_EMBEDDED_PORT, DEFAULT_MAX_CONNECTIONS } from './server-defaults.js';
export type { WatchdogOptions } from './watchdog.js';
export { DEFAULT_STALLED_BATCH_TIMEOUT_MS } from './wire-guard.js';

/** Something the server did on its own, reported through {@link EmbeddedServerOptions.onEvent}. */
export type EmbeddedServerEvent =
  /**
   * Probes wait behind one client's open transaction, COPY or unfinished extended-query batch: the others
   * wait too. Once per episode.
   */
  | { readonly type: 'blocked'; readonly message: string }
  /** The wire server stopped answering and was restarted on the same port (clients were disconnected). */
  | { readonly type: 'socket-restarted'; readonly message: string }
  /** The backend exited; the database was reopened from its data directory (clients were disconnected). */
  | { readonly type: 'database-restarted'; readonly message: string }
  /** The server could not recover and has stopped; {@link EmbeddedServer.stopped} settles with `error`. */
  | { readonly type: 'failed'; readonly error: PgVectorError };

/** Options of {@link startEmbeddedServer}: where the database lives, and how it is served. */
export interface EmbeddedServerOptions extends EmbeddedDatabaseOptions {
  /** TCP port; 0 picks a free one (see {@link EmbeddedServer.port}). Default {@link DEFAULT_EMBEDDED_PORT}. */
  readonly port?: number | undefined;
  /** Interface to listen on. Default `127.0.0.1` (this machine only). */
  readonly host?: string | undefined;
  /**
   * Connections served at once; one more is refused with "Too many connections". All of them share the
   * single Postgres session of PGlite. Default {@link DEFAULT_MAX_CONNECTIONS}.
   */
  readonly maxConnections?: number | undefined;
  /**
   * Each client has the session to itself from its first extended-query message (Parse, Bind, ...) until
   * its Sync is answered. A client that stops in between, silent for this long while other clients wait,
   * gets a FATAL error and is disconnected; its batch is rolled back. 0: never (everyone then waits until it
   * disconnects; the watchdog reports `blocked`). Open transactions are not affected. Default
   * {@link DEFAULT_STALLED_BATCH_TIMEOUT_MS} (10 s).
   */
  readonly stalledBatchTimeoutMs?: number | undefined;
  /**
   * Probe the server over the wire and repair it when it stops answering: restart the socket server on the
   * same port, or reopen the database from its data directory when its backend exited. Without it, a
   * terminated backend stops the server with `SERVER_WEDGED`. Default false; `prisma-pgvector db` enables it.
   */
  readonly watchdog?: boolean | WatchdogOptions | undefined;
  /** Receives what the server does on its own (restarts, failure). Must not throw. Default: nothing. */
  readonly onEvent?: ((event: EmbeddedServerEvent) => void) | undefined;
}

/** A running embedded PostgreSQL wire server. */
export interface EmbeddedServer {
  /** Connection string for `pg`, Prisma and psql: `postgresql://postgres:postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  readonly host: string;
  /** The port listened on (the one picked when 0 was asked). */
  readonly port: number;
  readonly maxConnections: number;
  /** The database served. A new instance after a `database-restarted` event. */
  readonly database: EmbeddedDatabase;
  /**
   * Settles once the server has stopped: with `undefined` after {@link EmbeddedServer.stop}, with the
   * `SERVER_WEDGED` error when it stopped itself because it could not recover. Never rejects.
   */
  readonly stopped: Promise<PgVectorError | undefined>;
  /**
   * Disconnects the clients, stops listening and closes the database (flushed, lock released). Idempotent.
   * Rejects if closing failed.
   */
  stop(): Promise<void>;
}

/**
 * Serves the embedded PostgreSQL (PGlite + pgvector) over the PostgreSQL wire protocol, for tools that
 * need a URL: the Prisma CLI, psql, `pg`, a Prisma Client with `@prisma/adapter-pg`.
 *
 * There is only one Postgres session behind all connections: `SET` leaks between clients, temporary
 * tables and named prepared statements are shared, an open transaction makes everyone else wait, and
 * every database name reaches the same database. See docs/EMBEDDED.md.
 *
 * @throws PgVectorError `PORT_IN_USE` (the data directory lock is released again), `DATA_DIR_LOCKED`,
 *   `DATA_DIR_INCOMPATIBLE`, `INVALID_CONFIG`.
 *
 * ### Examples
 * ```ts
 * const server = await startEmbeddedServer({ port: 0, memory: true });
 * const client = new pg.Client({ connectionString: server.url });
 * await client.connect();
 * await client.query('CREATE EXTENSION IF NOT EXISTS vector');
 * await client.end();
 * await server.stop();
 * ```
 */
export async function startEmbeddedServer(options: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  const port = options.port ?? DEFAULT_EMBEDDED_PORT;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new PgVectorError('INVALID_CONFIG', `Invalid port ${port}: expected an integer from 0 to 65535.`);
  }
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw new PgVectorError(
      'INVALID_CONFIG',
      `Invalid maxConnections ${maxConnections}: expected an integer ≥ 1.`,
    );
  }
  const stalledBatchTimeoutMs = options.stalledBatchTimeoutMs ?? DEFAULT_STALLED_BATCH_TIMEOUT_MS;
  if (
    !Number.isInteger(stalledBatchTimeoutMs) ||
    stalledBatchTimeoutMs < 0 ||
    stalledBatchTimeoutMs > 2 ** 31 - 1
  ) {
    throw new PgVectorError(
      'INVALID_CONFIG',
      `Invalid stalledBatchTimeoutMs ${stalledBatchTimeoutMs}: expected an integer from 0 to ${2 ** 31 - 1} (ms).`,
    );
  }
  const server = new WireServer({ ...options, stalledBatchTimeoutMs }, port, maxConnections);
  await server.start();
  return server;
}

/** What is listening right now: replaced on every restart. */
interface Listening {
  readonly socketServer: PGLiteSocketServer;
  readonly guard: WireGuard;
}

class WireServer implements EmbeddedServer {
  readonly host: string;
  readonly maxConnections: number;
  readonly stopped: Promise<PgVectorError | undefined>;
  port: number;
  url = '';
  #database!: EmbeddedDatabase;
  #listening!: Listening;
  readonly #databaseOptions: EmbeddedDatabaseOptions;
  readonly #stalledBatchTimeoutMs: number | undefined;
  readonly #onEvent: (event: EmbeddedServerEvent) => void;
  readonly #watchdog: Watchdog | undefined;
  #running = false;
  #resolveStopped: (error: PgVectorError | undefined) => void = () => {};
  #shutdownError: unknown;
  /** Restarts, recovery and shutdown run one at a time, in order. */
  #queue: Promise<void> = Promise.resolve();
  /** The database whose backend termination is being (or was) handled. */
  #handledTermination: EmbeddedDatabase | undefined;

  constructor(options: EmbeddedServerOptions, port: number, maxConnections: number) {
    this.host = options.host ?? '127.0.0.1';
    this.port = port;
    this.maxConnections = maxConnections;
    this.#databaseOptions = { dataDir: options.dataDir, memory: options.memory, vector: options.vector };
    this.#stalledBatchTimeoutMs = options.stalledBatchTimeoutMs;
    this.#onEvent = options.onEvent ?? (() => {});
    this.stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
    this.#watchdog = options.watchdog
      ? new Watchdog(options.watchdog === true ? {} : options.watchdog, {
          probe: (timeoutMs) => probeWireServer({ host: this.#clientHost, port: this.port }, timeoutMs),
          isTerminated: () => this.#database.terminated,
          isHeldByClient: () => this.#listening.guard.heldByClient,
          onTerminated: () => this.#onBackendTerminated(),
          onBlocked: () =>
            this.#onEvent({
              type: 'blocked',
              message:
                'A client has kept a transaction (or a COPY, or an extended-query batch without Sync) open for a while; all other clients wait until it ends.',
            }),
          onUnresponsive: (reason, again) => this.#serially(() => this.#onUnresponsive(reason, again)),
        })
      : undefined;
  }

  get database(): EmbeddedDatabase {
    return this.#database;
  }

  /** Where clients (and the probe) connect: the listening host, or loopback for a wildcard address. */
  get #clientHost(): string {
    return this.host === '0.0.0.0' || this.host === '::' ? '127.0.0.1' : this.host;
  }

  async start(): Promise<void> {
    this.#database = await openEmbeddedDatabase(this.#databaseOptions);
    try {
      this.#listening = await this.#listen();
    } catch (error) {
      await this.#database.close();
      throw error;
    }
    const host = this.#clientHost.includes(':') ? `[${this.#clientHost}]` : this.#clientHost;
    this.url = `postgresql://postgres:postgres@${host}:${this.port}/postgres`;
    this.#running = true;
    this.#watchdog?.start();
  }

  stop(): Promise<void> {
    if (this.#running) {
      this.#running = false;
      void this.#serially(async () => {
        await this.#shutdown();
        this.#resolveStopped(undefined);
      });
    }
    return this.stopped.then(() => {
      if (this.#shutdownError !== undefined) throw this.#shutdownError;
    });
  }

  #serially(task: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => {}); // the caller of a failed task sees its failure; the queue goes on
    return run;
  }

  /** Starts a PGLiteSocketServer for the current database, behind a fresh wire guard, on `this.port`. */
  async #listen(): Promise<Listening> {
    const guard = createWireGuard(this.#database, () => this.#onBackendTerminated(), {
      stalledBatchTimeoutMs: this.#stalledBatchTimeoutMs,
    });
    // The watchdog's probe gets a connection slot of its own.
    const maxConnections = this.maxConnections + (this.#watchdog ? 1 : 0);
    const socketServer = new PGLiteSocketServer({
      db: this.#database.pglite,
      host: this.host,
      port: this.port,
      maxConnections,
    });
    guard.attach(socketServer); // the guard schedules the clients' messages, not pglite-socket's queue
    try {
      await socketServer.start();
    } catch (error) {
      await socketServer.stop();
      if (isErrnoException(error) && error.code === 'EADDRINUSE') {
        throw new PgVectorError('PORT_IN_USE', `Port ${this.port} on ${this.host} is already in use.`, {
          cause: error,
          fix: 'Stop the program using it, or pick another port with --port (or PGVECTOR_DB_PORT).',
        });
      }
      throw new PgVectorError(
        'INVALID_CONFIG',
        `Cannot listen on ${this.host}:${this.port}: ${message(error)}`,
        {
          cause: error,
        },
      );
    }
    const address = socketServer.getServerConn();
    this.port = Number(address.slice(address.lastIndexOf(':') + 1));
    return { socketServer, guard };
  }

  async #shutdown(): Promise<void> {
    this.#watchdog?.stop();
    for (const close of [() => this.#listening.socketServer.stop(), () => this.#database.close()]) {
      try {
        await close();
      } catch (error) {
        this.#shutdownError ??= error;
      }
    }
  }

  /** Stops the server for good with `error` (queued after the current task; never awaited by one). */
  #fail(error: PgVectorError): void {
    if (!this.#running) return;
    this.#running = false;
    this.#onEvent({ type: 'failed', error });
    void this.#serially(async () => {
      await this.#shutdown();
      this.#resolveStopped(error);
    });
  }

  #onBackendTerminated(): void {
    if (!this.#running || this.#handledTermination === this.#database) return;
    this.#handledTermination = this.#database;
    const reason = 'its PostgreSQL backend exited after a FATAL error';
    if (!this.#watchdog) {
      this.#fail(
        new PgVectorError('SERVER_WEDGED', `The embedded database server stopped: ${reason}.`, {
          fix: 'Restart it; `prisma-pgvector db` (the watchdog option) restarts it automatically.',
        }),
      );
      return;
    }
    void this.#serially(() => this.#reopenDatabase(reason));
  }

  async #reopenDatabase(reason: string): Promise<void> {
    if (!this.#running) return;
    if (this.#database.dataDir === undefined) {
      this.#fail(
        new PgVectorError(
          'SERVER_WEDGED',
          `The embedded database stopped working (${reason}); an in-memory database cannot be recovered and its data is lost.`,
          { fix: 'Restart the server; use a data directory (--data-dir) to keep data across such failures.' },
        ),
      );
      return;
    }
    try {
      await this.#listening.socketServer.stop();
      await this.#database.close();
      this.#database = await openEmbeddedDatabase(this.#databaseOptions);
      this.#listening = await this.#listen();
    } catch (error) {
      this.#fail(wedged(`${reason}, and reopening the database failed`, this.port, error));
      return;
    }
    this.#onEvent({
      type: 'database-restarted',
      message: `The embedded database was reopened from ${this.#database.dataDir} because ${reason}; clients were disconnected.`,
    });
  }

  async #onUnresponsive(reason: string, again: boolean): Promise<void> {
    if (!this.#running) return;
    if (again) {
      this.#fail(wedged(`${reason}, even after a restart of the socket server`, this.port));
      return;
    }
    try {
      await this.#listening.socketServer.stop();
      this.#listening = await this.#listen();
    } catch (error) {
      this.#fail(wedged(`${reason}, and restarting the socket server failed`, this.port, error));
      return;
    }
    this.#onEvent({
      type: 'socket-restarted',
      message: `The wire server was restarted on port ${this.port}: ${reason}; clients were disconnected.`,
    });
  }
}

function wedged(what: string, port: number, cause?: unknown): PgVectorError {
  const detail = cause === undefined ? '' : `: ${isPgVectorError(cause) ? cause.message : message(cause)}`;
  return new PgVectorError(
    'SERVER_WEDGED',
    `The embedded database server on port ${port} is wedged: ${what}${detail}.`,
    {
      cause,
      fix: 'Restart it (committed data is kept in the data directory).',
    },
  );
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
