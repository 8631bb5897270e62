/**
 * The few pieces of the PostgreSQL wire protocol (v3) the embedded server needs to inspect or produce
 * messages itself. A message is a type byte, an int32 length (counting itself, not the type byte), a body.
 */

/** Frontend (client → server) message types after startup: Bind, Close, CopyData/Done/Fail, ... */
const FRONTEND_MESSAGE_TYPES = new Set([...'BCdcfDEFHPpQSX'].map((c) => c.charCodeAt(0)));

/**
 * Message type bytes used by the embedded server, by name.
 *
 * ### Examples
 * ```ts
 * message[0] === MessageType.Query;
 * ```
 */
export const MessageType = {
  Query: 0x51, // 'Q'
  Parse: 0x50, // 'P'
  Bind: 0x42, // 'B'
  Describe: 0x44, // 'D'
  Execute: 0x45, // 'E'
  Close: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyFail: 0x66, // 'f'
  Flush: 0x48, // 'H'
  Sync: 0x53, // 'S'
  CopyInResponse: 0x47, // 'G' (backend)
  ReadyForQuery: 0x5a, // 'Z' (backend)
  ErrorResponse: 0x45, // 'E' (backend; the same byte as Execute)
} as const;

/** Frontend messages of the extended query protocol that a Sync completes. */
const EXTENDED_QUERY_MESSAGE_TYPES = new Set<number>([
  MessageType.Parse,
  MessageType.Bind,
  MessageType.Describe,
  MessageType.Execute,
  MessageType.Close,
  MessageType.Flush,
]);

/**
 * True when `type` is a message of the extended query protocol (Parse, Bind, Describe, Execute, Close,
 * Flush): it leaves an unfinished batch on the session until the client's Sync is answered.
 *
 * ### Examples
 * ```ts
 * isExtendedQueryMessage(MessageType.Parse); // true
 * isExtendedQueryMessage(MessageType.Sync); // false: it ends the batch
 * ```
 */
export function isExtendedQueryMessage(type: number): boolean {
  return EXTENDED_QUERY_MESSAGE_TYPES.has(type);
}

/**
 * True when `output` (the end of what the backend sent) ends with a ReadyForQuery message: the backend
 * has finished the client's query or Sync. Pass at least the last 6 bytes.
 *
 * ### Examples
 * ```ts
 * endsWithReadyForQuery(Uint8Array.of(0x5a, 0, 0, 0, 5, 0x49)); // true ('Z', idle)
 * ```
 */
export function endsWithReadyForQuery(output: Uint8Array): boolean {
  const at = output.length - 6;
  return (
    at >= 0 &&
    output[at] === MessageType.ReadyForQuery &&
    output[at + 1] === 0 &&
    output[at + 2] === 0 &&
    output[at + 3] === 0 &&
    output[at + 4] === 5
  );
}

/**
 * True when `type` may start a frontend message once the connection is up. PostgreSQL answers any other
 * type with a FATAL error, which kills PGlite's only backend.
 *
 * ### Examples
 * ```ts
 * isFrontendMessageType(0x51); // true ('Q')
 * isFrontendMessageType(0x3f); // false ('?')
 * ```
 */
export function isFrontendMessageType(type: number): boolean {
  return FRONTEND_MESSAGE_TYPES.has(type);
}

/**
 * Builds one typed message.
 *
 * ### Examples
 * ```ts
 * encodeMessage(MessageType.CopyDone); // 'c' 00 00 00 04
 * ```
 */
export function encodeMessage(type: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const message = new Uint8Array(5 + body.length);
  message[0] = type;
  new DataView(message.buffer).setInt32(1, 4 + body.length);
  message.set(body, 5);
  return message;
}

/**
 * Builds a CopyFail message: the client aborts a COPY FROM STDIN with `reason`.
 *
 * ### Examples
 * ```ts
 * encodeCopyFail('input too large');
 * ```
 */
export function encodeCopyFail(reason: string): Uint8Array {
  return encodeMessage(MessageType.CopyFail, cString(reason));
}

/**
 * Builds a simple Query message.
 *
 * ### Examples
 * ```ts
 * encodeQuery('SAVEPOINT probe');
 * ```
 */
export function encodeQuery(sql: string): Uint8Array {
  return encodeMessage(MessageType.Query, cString(sql));
}

/**
 * Builds a Parse message for the unnamed statement, with no parameter types given.
 *
 * ### Examples
 * ```ts
 * concatBytes([encodeParse('SELECT $1::int'), encodeMessage(MessageType.Sync)]);
 * ```
 */
export function encodeParse(sql: string): Uint8Array {
  return encodeMessage(MessageType.Parse, concatBytes([cString(''), cString(sql), new Uint8Array(2)]));
}

/**
 * Builds an ErrorResponse. A FATAL one tells the client the connection is over.
 *
 * ### Examples
 * ```ts
 * encodeErrorResponse('FATAL', '08P01', 'invalid frontend message type 63');
 * ```
 */
export function encodeErrorResponse(
  severity: 'ERROR' | 'FATAL',
  sqlState: string,
  message: string,
): Uint8Array {
  const fields = [`S${severity}`, `V${severity}`, `C${sqlState}`, `M${message}`].map((field) =>
    cString(field),
  );
  return encodeMessage(0x45 /* 'E' */, concatBytes([...fields, new Uint8Array(1)]));
}

/**
 * The SQL text of a Query ('Q') message.
 *
 * ### Examples
 * ```ts
 * queryText(encodeMessage(MessageType.Query, cString('SELECT 1'))); // 'SELECT 1'
 * ```
 */
export function queryText(message: Uint8Array): string {
  const end = message[message.length - 1] === 0 ? message.length - 1 : message.length;
  return new TextDecoder().decode(message.subarray(5, end));
}

/**
 * Splits a stream of backend messages into whole messages (views, not copies). An incomplete tail, if any,
 * comes last as it is.
 *
 * ### Examples
 * ```ts
 * splitMessages(output).filter((m) => m[0] !== MessageType.CopyInResponse);
 * ```
 */
export function splitMessages(data: Uint8Array): Uint8Array[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const messages: Uint8Array[] = [];
  let offset = 0;
  while (offset + 5 <= data.length) {
    const end = offset + 1 + view.getInt32(offset + 1);
    if (end <= offset + 4 || end > data.length) break;
    messages.push(data.subarray(offset, end));
    offset = end;
  }
  if (offset < data.length) messages.push(data.subarray(offset));
  return messages;
}

/**
 * Concatenates byte arrays into a new one.
 *
 * ### Examples
 * ```ts
 * concatBytes([query, ...copyData, encodeMessage(MessageType.CopyDone)]);
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * True when `sql` is exactly one `COPY ... FROM STDIN` statement (leading comments and a trailing `;`
 * allowed). Anything with another `;` in it is not, even if it would be: the embedded server only
 * buffers COPY data for a query that is this one statement.
 *
 * ### Examples
 * ```ts
 * isSingleCopyFromStdin('COPY documents (id, content) FROM STDIN WITH (FORMAT binary);'); // true
 * isSingleCopyFromStdin('SELECT 1; COPY t FROM STDIN'); // false
 * ```
 */
export function isSingleCopyFromStdin(sql: string): boolean {
  const statement = stripLeadingComments(sql).replace(/;\s*$/, '');
  return /^copy\s/i.test(statement) && !statement.includes(';') && /\bfrom\s+stdin\b/i.test(statement);
}

function stripLeadingComments(sql: string): string {
  let rest = sql.trimStart();
  for (;;) {
    if (rest.startsWith('--')) {
      const newline = rest.indexOf('\n');
      rest = newline < 0 ? '' : rest.slice(newline + 1).trimStart();
    } else if (rest.startsWith('/*')) {
      const end = rest.indexOf('*/');
      rest = end < 0 ? '' : rest.slice(end + 2).trimStart();
    } else {
      return rest;
    }
  }
}

function cString(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\0`);
}
