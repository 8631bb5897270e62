import type { ExecProtocolOptionsStream } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { EmbeddedDatabase } from './pglite.js';
import {
  concatBytes,
  encodeCopyFail,
  encodeErrorResponse,
  encodeMessage,
  encodeParse,
  encodeQuery,
  endsWithReadyForQuery,
  isExtendedQueryMessage,
  isFrontendMessageType,
  isSingleCopyFromStdin,
  MessageType,
  queryText,
  splitMessages,
} from './wire-protocol.js';

/**
 * Most COPY FROM STDIN data the embedded server buffers for one statement (it is sent to PGlite in one
 * piece). A larger COPY fails with a clear error; split the load into several statements.
 *
 * ### Examples
 * ```ts
 * const rowsPerCopy = Math.floor(COPY_BUFFER_LIMIT_BYTES / bytesPerRow);
 * ```
 */
export const COPY_BUFFER_LIMIT_BYTES = 512 * 1024 * 1024;

/**
 * Default of `stalledBatchTimeoutMs`: how long a client may stay silent in the middle of an extended-query
 * batch (Parse, Bind, ... but no Sync yet) while other clients wait for the session, before it is
 * disconnected with a FATAL error and its batch rolled back.
 *
 * ### Examples
 * ```ts
 * await startEmbeddedServer({ stalledBatchTimeoutMs: 2 * DEFAULT_STALLED_BATCH_TIMEOUT_MS });
 * ```
 */
export const DEFAULT_STALLED_BATCH_TIMEOUT_MS = 10_000;

/** Options of {@link createWireGuard}. */
export interface WireGuardOptions {
  /**
   * See {@link DEFAULT_STALLED_BATCH_TIMEOUT_MS} (the default); 0 turns the rule off: a stalled client then
   * blocks everyone until it disconnects (the watchdog reports `blocked`).
   */
  readonly stalledBatchTimeoutMs?: number | undefined;
}

/** What the guard does for the socket server, and what it knows about the clients. */
export interface WireGuard {
  /**
   * Puts the guard between `server` and PGlite: replaces the server's query queue with the guard's
   * scheduler. Call once, before `server.start()`.
   *
   * @throws Error when `server` is not the `@electric-sql/pglite-socket` 0.2 server this was written for.
   */
  attach(server: PGLiteSocketServer): void;
  /**
   * True while one client holds the single session for itself: an open transaction, a COPY FROM STDIN
   * being received, an extended-query batch not yet completed by a Sync. Other clients wait until it
   * ends; that is not a wedge.
   */
  readonly heldByClient: boolean;
}

interface CopyIn {
  readonly query: Uint8Array;
  readonly chunks: Uint8Array[];
  size: number;
  overflow: boolean;
}

/** One frontend message waiting for the session, as pglite-socket's connection handler enqueues it. */
interface Pending {
  readonly handlerId: number;
  readonly message: Uint8Array;
  /** Writes to that client's socket (still works after the message has been answered). */
  readonly onData: (data: Uint8Array) => void;
  readonly resolve: (bytes: number) => void;
  readonly reject: (error: Error) => void;
}

/**
 * The query queue interface that pglite-socket 0.2's connection handlers call (`QueryQueueManager`, not
 * exported by the package): the guard's scheduler implements it.
 */
interface SocketQueryQueue {
  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number>;
  clearQueueForHandler(handlerId: number): void;
  clearTransactionIfNeeded(handlerId: number): Promise<void>;
  getQueueLength(): number;
}

/** The private parts of pglite-socket 0.2's `PGLiteSocketServer` and `PGLiteSocketHandler` the guard uses. */
interface SocketServerInternals {
  queryQueue: SocketQueryQueue;
  readonly handlers: Set<{
    readonly handlerId: number;
    handleError?: (error: Error) => void;
    /** When the handler's socket last delivered bytes (set on every `data` event, complete message or not). */
    readonly lastActivityTime?: unknown;
    /** The bytes of the message being received (pglite-socket hands over complete messages only). */
    readonly messageBuffer?: { readonly length?: unknown };
  }>;
}

/** The savepoint the COPY probe runs in, inside a client's transaction. */
const PROBE_SAVEPOINT = 'prisma_pgvector_copy_probe';

function hasError(output: Uint8Array): boolean {
  return splitMessages(output).some((m) => m[0] === MessageType.ErrorResponse);
}

/** Ends an extended-query batch a client left unfinished: an error (the implicit transaction aborts), then Sync. */
const ABORT_BATCH = concatBytes([
  encodeParse('-- prisma-pgvector: rolling back a batch its client left unfinished\nABORT BATCH'),
  encodeMessage(MessageType.Sync),
]);

/**
 * Stands between `@electric-sql/pglite-socket` and PGlite, fixing what makes that server wedge or mix
 * up its clients:
 *
 * - One client at a time: all connections share PGlite's single session, and pglite-socket hands PGlite
 *   one message at a time, so two clients' extended-query batches (Parse, Bind, Describe, Execute, Sync)
 *   would interleave (`unnamed prepared statement does not exist`, or another client's rows). The guard's
 *   scheduler keeps the session for one client from its first extended-query message until its Sync has
 *   been answered with ReadyForQuery, during an open transaction, and while a COPY FROM STDIN is being
 *   received; other clients' messages wait, first come first served. A client that leaves a batch
 *   unfinished and silent for `stalledBatchTimeoutMs` while others wait gets a FATAL error and is
 *   disconnected; its batch is rolled back. Silent means no bytes at all: a client still sending a large
 *   message (a 100 MB parameter) is not stalled. A client that disconnects has its batch, COPY or
 *   transaction rolled back.
 * - A frontend message with an unknown type gets a FATAL ErrorResponse from us; PGlite never sees it
 *   (PostgreSQL's own FATAL would end PGlite's only backend).
 * - `COPY ... FROM STDIN` works: PGlite must receive the query, all CopyData and CopyDone in one call. The
 *   guard answers the query with the real CopyInResponse (from a run of the same COPY aborted at once with
 *   CopyFail, in a savepoint when a transaction is open), buffers the data (up to {@link COPY_BUFFER_LIMIT_BYTES}) and runs the whole COPY
 *   once CopyDone or CopyFail arrives. Only a query that is a single COPY statement is handled; any other
 *   COPY FROM STDIN (multi-statement query, extended protocol) still ends the backend (see
 *   {@link EmbeddedDatabase.terminated}).
 * - PGlite errors never stop the queue (pglite-socket's own queue stops for good after one rejected
 *   query): the client gets a FATAL ErrorResponse instead, and `onBackendTerminated` runs when the
 *   backend is gone.
 *
 * ### Examples
 * ```ts
 * const guard = createWireGuard(database, () => scheduleRestart());
 * const server = new PGLiteSocketServer({ db: database.pglite, port: 54320 });
 * guard.attach(server);
 * await server.start();
 * ```
 */
export function createWireGuard(
  database: EmbeddedDatabase,
  onBackendTerminated: () => void,
  options: WireGuardOptions = {},
): WireGuard {
  const target = database.pglite;
  const stalledBatchTimeoutMs = options.stalledBatchTimeoutMs ?? DEFAULT_STALLED_BATCH_TIMEOUT_MS;
  let attached: SocketServerInternals | undefined;

  // ---- The session's state, as far as the wire protocol shows it ----

  let copy: CopyIn | undefined;
  /** An extended-query message has run and no ReadyForQuery has answered it yet. */
  let batch = false;

  const inTransaction = (): boolean => {
    if (database.terminated || database.closed) return false;
    try {
      return target.isInTransaction();
    } catch {
      return false;
    }
  };

  /** Runs `message` on PGlite and returns its whole output. */
  const collect = async (message: Uint8Array, syncToFs: boolean | undefined): Promise<Uint8Array> => {
    const parts: Uint8Array[] = [];
    await target.execProtocolRawStream(message, { syncToFs, onRawData: (data) => parts.push(data.slice()) });
    return concatBytes(parts);
  };

  const startCopy = async (query: Uint8Array, options: ExecProtocolOptionsStream): Promise<void> => {
    // The COPY aborted at once (CopyFail) yields the exact CopyInResponse (column count, formats) or the
    // statement's own error, and leaves nothing behind. In an open transaction that failure would abort
    // the client's transaction: the probe then runs inside a savepoint, rolled back after it.
    const probe = concatBytes([query, encodeCopyFail('prisma-pgvector: reading the CopyInResponse')]);
    const inSavepoint =
      inTransaction() && !hasError(await collect(encodeQuery(`SAVEPOINT ${PROBE_SAVEPOINT}`), false));
    const messages = splitMessages(await collect(probe, false));
    if (inSavepoint) {
      await collect(
        encodeQuery(`ROLLBACK TO SAVEPOINT ${PROBE_SAVEPOINT}; RELEASE SAVEPOINT ${PROBE_SAVEPOINT}`),
        false,
      );
    }
    const header = messages.findIndex((m) => m[0] === MessageType.CopyInResponse);
    if (header < 0) {
      options.onRawData(concatBytes(messages));
      return;
    }
    options.onRawData(concatBytes(messages.slice(0, header + 1)));
    copy = { query, chunks: [], size: 0, overflow: false };
  };

  const continueCopy = async (current: CopyIn, message: Uint8Array, options: ExecProtocolOptionsStream) => {
    const type = message[0];
    if (type === MessageType.CopyData) {
      current.size += message.length;
      if (current.size > COPY_BUFFER_LIMIT_BYTES) {
        current.overflow = true;
        current.chunks.length = 0;
      } else if (!current.overflow) {
        current.chunks.push(message); // pglite-socket hands over a fresh copy of each message
      }
      return;
    }
    // Flush and Sync are ignored during COPY, as PostgreSQL does.
    if (type === MessageType.Flush || type === MessageType.Sync) return;

    // Any other message ends the COPY with an error and is consumed by it, as in PostgreSQL.
    copy = undefined;
    const endsCopy = type === MessageType.CopyDone || type === MessageType.CopyFail;
    const ending = current.overflow
      ? encodeCopyFail(
          `COPY data exceeds the embedded server's limit of ${COPY_BUFFER_LIMIT_BYTES} bytes per statement; ` +
            'split the load into several COPY statements',
        )
      : endsCopy
        ? message
        : encodeCopyFail(`unexpected message type 0x${(type ?? 0).toString(16)} during COPY from stdin`);
    const output = splitMessages(
      await collect(concatBytes([current.query, ...current.chunks, ending]), options.syncToFs),
    );
    const header = output.findIndex((m) => m[0] === MessageType.CopyInResponse);
    options.onRawData(concatBytes(output.filter((_, index) => index !== header)));
  };

  /** Runs one client message on PGlite (which the caller holds exclusively); never rejects. */
  const execute = async (message: Uint8Array, options: ExecProtocolOptionsStream): Promise<void> => {
    try {
      if (database.terminated) throw new Error('backend terminated');
      const type = message[0] ?? 0;
      if (copy) {
        await continueCopy(copy, message, options);
      } else if (type !== 0 && !isFrontendMessageType(type)) {
        // type 0 is the startup packet (no type byte).
        options.onRawData(encodeErrorResponse('FATAL', '08P01', `invalid frontend message type ${type}`));
      } else if (type === MessageType.Query && isSingleCopyFromStdin(queryText(message))) {
        await startCopy(message, options);
      } else {
        await target.execProtocolRawStream(message, options);
      }
    } catch (error) {
      copy = undefined;
      if (database.terminated) {
        batch = false;
        options.onRawData(
          encodeErrorResponse(
            'FATAL',
            '57P01',
            'terminating connection: the embedded database backend exited after a FATAL error',
          ),
        );
        onBackendTerminated();
      } else {
        const reason = error instanceof Error ? error.message : String(error);
        options.onRawData(encodeErrorResponse('FATAL', 'XX000', `embedded server error: ${reason}`));
      }
    }
  };

  /** Runs one client message holding PGlite exclusively, and follows the batch state; never rejects. */
  const run = async (pending: Pending): Promise<number> => {
    const type = pending.message[0] ?? 0;
    const duringCopy = copy !== undefined;
    let bytes = 0;
    let tail = new Uint8Array(0);
    const onRawData = (data: Uint8Array): void => {
      bytes += data.length;
      tail = data.length >= 6 ? data.slice(-6) : concatBytes([tail, data]).slice(-6);
      pending.onData(data);
    };
    try {
      await target.runExclusive(() => execute(pending.message, { onRawData }));
    } catch (error) {
      // runExclusive itself failed (the database is closing): the client learns it like any other failure.
      const reason = error instanceof Error ? error.message : String(error);
      onRawData(encodeErrorResponse('FATAL', 'XX000', `embedded server error: ${reason}`));
    }
    if (database.terminated) {
      batch = false;
    } else if (!duringCopy && isExtendedQueryMessage(type)) {
      batch = true;
    } else if (type !== MessageType.CopyData && endsWithReadyForQuery(tail)) {
      batch = false; // the Sync (or a simple query) has been answered
    }
    return bytes;
  };

  /** Undoes what a client left on the session: an unfinished batch, a COPY being received, a transaction. */
  const rollBack = async (): Promise<void> => {
    copy = undefined; // a COPY being received had not run yet: dropping its data is the whole rollback
    if (batch && !database.terminated && !database.closed) {
      try {
        await target.runExclusive(() => collect(ABORT_BATCH, undefined));
      } catch {
        // a closing database: nothing left to undo
      }
    }
    batch = false;
    if (inTransaction()) {
      try {
        await target.exec('ROLLBACK'); // takes PGlite's lock itself
      } catch {
        // the next client statement reports any remaining problem
      }
    }
  };

  // ---- The scheduler: who may use the session now ----

  const queue: Pending[] = [];
  let pumping = false;
  /** The client holding the session (see {@link WireGuard.heldByClient}). */
  let owner: number | undefined;
  /** The owner's socket, through the writer of its last message. */
  let ownerOutput: ((data: Uint8Array) => void) | undefined;
  let ownerSilentSince = 0;
  /** The owner's partly received message when last looked at (see ownerLastHeard). */
  let receiving: { handlerId: number | undefined; bytes: number; at: number } = {
    handlerId: undefined,
    bytes: 0,
    at: 0,
  };
  /** The client whose message PGlite is running. */
  let running: number | undefined;
  /** Clients that disconnected: whatever they hold must be rolled back. */
  const gone = new Set<number>();
  /** Clients disconnected by the stall rule: their later messages are refused. */
  const evicted = new Set<number>();
  let stallTimer: NodeJS.Timeout | undefined;

  const holdsSession = (): boolean => copy !== undefined || batch || inTransaction();

  const pump = async (): Promise<void> => {
    if (pumping) return;
    pumping = true;
    clearTimeout(stallTimer);
    try {
      for (;;) {
        if (owner !== undefined && gone.has(owner)) {
          gone.delete(owner);
          await rollBack();
          owner = undefined;
          ownerOutput = undefined;
          continue;
        }
        // First come, first served; while a client holds the session, only its messages.
        const index = owner === undefined ? 0 : queue.findIndex((p) => p.handlerId === owner);
        const next = index < 0 ? undefined : queue.splice(index, 1)[0];
        if (!next) break;
        running = next.handlerId;
        let bytes: number;
        try {
          bytes = await run(next);
        } catch (error) {
          // Not expected (run reports failures to the client); pglite-socket then drops the connection.
          next.reject(error instanceof Error ? error : new Error(String(error)));
          gone.add(next.handlerId);
          owner = next.handlerId;
          continue;
        } finally {
          running = undefined;
        }
        if (holdsSession()) {
          owner = next.handlerId;
          ownerOutput = next.onData;
          ownerSilentSince = Date.now();
        } else {
          owner = undefined;
          ownerOutput = undefined;
          gone.delete(next.handlerId);
        }
        next.resolve(bytes);
      }
    } finally {
      pumping = false;
      armStallTimer();
    }
  };

  /**
   * When the owner was last heard from: its last message, or the last bytes its socket delivered — a client
   * in the middle of sending a large message (a 100 MB parameter arrives in thousands of pieces, and
   * pglite-socket hands over only complete messages) is busy, not silent.
   */
  const ownerLastHeard = (): number => {
    const handler = [...(attached?.handlers ?? [])].find((h) => h.handlerId === owner);
    const activity = handler?.lastActivityTime;
    // A large message is reassembled in pglite-socket's event-loop callbacks: while they run (seconds for
    // 100 MB) no socket event is seen, but the buffered part grows. Growth is progress too.
    const buffered = handler?.messageBuffer?.length;
    if (typeof buffered === 'number' && (receiving.handlerId !== owner || receiving.bytes !== buffered)) {
      receiving = { handlerId: owner, bytes: buffered, at: Date.now() };
    }
    return Math.max(
      ownerSilentSince,
      typeof activity === 'number' ? activity : 0,
      receiving.handlerId === owner ? receiving.at : 0,
    );
  };

  /** True when the owner holds the session only for an unfinished batch and keeps others waiting. */
  const isStalling = (): boolean =>
    owner !== undefined &&
    batch &&
    copy === undefined &&
    !inTransaction() &&
    queue.length > 0 &&
    !queue.some((p) => p.handlerId === owner);

  function armStallTimer(): void {
    clearTimeout(stallTimer);
    stallTimer = undefined;
    if (stalledBatchTimeoutMs <= 0 || pumping || !isStalling()) return;
    stallTimer = setTimeout(onStall, Math.max(0, ownerLastHeard() + stalledBatchTimeoutMs - Date.now()));
    stallTimer.unref();
  }

  function onStall(): void {
    stallTimer = undefined;
    if (pumping || !isStalling() || owner === undefined) return;
    if (Date.now() - ownerLastHeard() < stalledBatchTimeoutMs) {
      armStallTimer();
      return;
    }
    const stalled = owner;
    ownerOutput?.(
      encodeErrorResponse(
        'FATAL',
        '25P03',
        `terminating connection: the client left an extended-query batch (Parse/Bind/Execute) without a Sync ` +
          `for ${stalledBatchTimeoutMs} ms while other clients waited for the embedded server's single session; ` +
          'the batch was rolled back',
      ),
    );
    evicted.add(stalled);
    gone.add(stalled);
    // pglite-socket then detaches the client: its socket closes, and it calls clearTransactionIfNeeded.
    const handler = [...(attached?.handlers ?? [])].find((h) => h.handlerId === stalled);
    handler?.handleError?.(new Error('stalled extended-query batch'));
    void pump();
  }

  const scheduler: SocketQueryQueue = {
    enqueue(handlerId, message, onData) {
      if (evicted.has(handlerId)) {
        return Promise.reject(new Error('connection terminated after a stalled extended-query batch'));
      }
      return new Promise<number>((resolve, reject) => {
        queue.push({ handlerId, message, onData, resolve, reject });
        void pump();
      });
    },
    clearQueueForHandler(handlerId) {
      evicted.delete(handlerId);
      for (let i = queue.length - 1; i >= 0; i--) {
        const pending = queue[i];
        if (pending?.handlerId === handlerId) {
          queue.splice(i, 1);
          pending.reject(new Error('Handler disconnected'));
        }
      }
    },
    // pglite-socket calls this when a client disconnects.
    async clearTransactionIfNeeded(handlerId) {
      if (owner !== handlerId && running !== handlerId) return;
      gone.add(handlerId);
      await pump();
    },
    getQueueLength() {
      return queue.length;
    },
  };

  return {
    attach(server) {
      const internals = server as unknown as Partial<SocketServerInternals>;
      if (typeof internals.queryQueue?.enqueue !== 'function' || !(internals.handlers instanceof Set)) {
        throw new Error(
          'The embedded server needs @electric-sql/pglite-socket 0.2.x (its query queue was not found).',
        );
      }
      internals.queryQueue = scheduler;
      attached = internals as SocketServerInternals;
    },
    get heldByClient() {
      return !database.terminated && (owner !== undefined || holdsSession());
    },
  };
}
