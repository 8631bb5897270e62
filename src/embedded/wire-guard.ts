import type { ExecProtocolOptionsStream, PGlite } from '@electric-sql/pglite';
import type { EmbeddedDatabase } from './pglite.js';
import {
  concatBytes,
  encodeCopyFail,
  encodeErrorResponse,
  encodeMessage,
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

/** The PGlite facade handed to `PGLiteSocketServer`, and what it knows about the clients. */
export interface WireGuard {
  /** Pass this, not the database's own PGlite, to `PGLiteSocketServer`. */
  readonly pglite: PGlite;
  /**
   * True while one client holds the single session for itself: an open transaction, or a COPY FROM STDIN
   * being received. Other clients wait until it ends; that is not a wedge.
   */
  readonly heldByClient: boolean;
}

interface CopyIn {
  readonly query: Uint8Array;
  readonly chunks: Uint8Array[];
  size: number;
  overflow: boolean;
}

/**
 * Wraps the PGlite instance that `@electric-sql/pglite-socket` drives, fixing what makes that server wedge:
 *
 * - A frontend message with an unknown type gets a FATAL ErrorResponse from us; PGlite never sees it
 *   (PostgreSQL's own FATAL would end PGlite's only backend).
 * - `COPY ... FROM STDIN` works: pglite-socket hands PGlite one message at a time, but PGlite must receive
 *   the query, all CopyData and CopyDone in one call. The guard answers the query with the real
 *   CopyInResponse (from a zero-row run of the same COPY: statement triggers see it), buffers the data (up to
 *   {@link COPY_BUFFER_LIMIT_BYTES}) and runs the whole COPY once CopyDone or CopyFail arrives. Other
 *   clients wait meanwhile (as during a transaction). Only a query that is a single COPY statement is
 *   handled; any other COPY FROM STDIN (multi-statement query, extended protocol) still ends the backend
 *   (see {@link EmbeddedDatabase.terminated}).
 * - PGlite errors never reach pglite-socket's query queue, which stops processing for good after one
 *   rejected query: the client gets a FATAL ErrorResponse instead, and `onBackendTerminated` runs when
 *   the backend is gone.
 * - While the backend is terminated, it reports no transaction and skips the ROLLBACK pglite-socket
 *   runs when a client disconnects inside one.
 *
 * ### Examples
 * ```ts
 * const guard = createWireGuard(database, () => scheduleRestart());
 * const server = new PGLiteSocketServer({ db: guard.pglite, port: 54320 });
 * ```
 */
export function createWireGuard(database: EmbeddedDatabase, onBackendTerminated: () => void): WireGuard {
  const target = database.pglite;
  let copy: CopyIn | undefined;

  /** Runs `message` on PGlite and returns its whole output. */
  const collect = async (message: Uint8Array, syncToFs: boolean | undefined): Promise<Uint8Array> => {
    const parts: Uint8Array[] = [];
    await target.execProtocolRawStream(message, { syncToFs, onRawData: (data) => parts.push(data.slice()) });
    return concatBytes(parts);
  };

  const startCopy = async (query: Uint8Array, options: ExecProtocolOptionsStream): Promise<void> => {
    // A zero-row run yields the exact CopyInResponse (column count, format) or the statement's error.
    const messages = splitMessages(
      await collect(concatBytes([query, encodeMessage(MessageType.CopyDone)]), false),
    );
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

  const execProtocolRawStream = async (
    message: Uint8Array,
    options: ExecProtocolOptionsStream,
  ): Promise<void> => {
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

  const isInTransaction = (): boolean => {
    if (database.terminated) return false;
    return copy !== undefined || target.isInTransaction();
  };

  // pglite-socket calls exec() only to roll back the transaction of a client that disconnected.
  const exec: PGlite['exec'] = async (query, options) => {
    copy = undefined; // a COPY being received had not run yet: dropping its data is the whole rollback
    if (database.terminated || !target.isInTransaction()) return [];
    try {
      return await target.exec(query, options);
    } catch {
      // pglite-socket does not handle a rejection here (it would crash the process); the next client
      // statement reports any remaining problem.
      return [];
    }
  };

  const overrides: Partial<Record<PropertyKey, unknown>> = { execProtocolRawStream, isInTransaction, exec };
  const pglite = new Proxy(target, {
    get(object, property) {
      if (property in overrides) return overrides[property];
      const value: unknown = Reflect.get(object, property, object);
      // PGlite's methods use private fields: they must run on the instance, not on the proxy.
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });

  return {
    pglite,
    get heldByClient() {
      return isInTransaction();
    },
  };
}
