/**
 * `COPY … FROM STDIN (FORMAT binary)` with `pg` alone, without `pg-copy-streams`: a minimal submittable
 * query (the interface `pg.Client#query` accepts) that sends the data as CopyData messages once the server
 * answers CopyInResponse, then CopyDone. Plus the binary COPY encoding of the bench rows.
 */

import type pg from 'pg';
import type { Row } from './dataset.js';

interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/** Runs one `COPY … FROM STDIN` with `data`, in chunks of `chunkBytes`; resolves with the rows copied. */
export function copyFrom(
  client: pg.Client,
  text: string,
  data: Buffer,
  chunkBytes = 1 << 20,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let rows = 0;
    const submittable = {
      submit(connection: CopyConnection) {
        connection.query(text);
      },
      handleCopyInResponse(connection: CopyConnection) {
        for (let at = 0; at < data.length; at += chunkBytes) {
          connection.sendCopyFromChunk(data.subarray(at, Math.min(data.length, at + chunkBytes)));
        }
        connection.endCopyFrom();
      },
      handleCommandComplete(msg: { text?: string }) {
        rows = Number(/(\d+)$/.exec(msg.text ?? '')?.[1] ?? 0);
      },
      handleReadyForQuery() {
        resolve(rows);
      },
      // pg forgets the active query on an ErrorResponse: settle now (ReadyForQuery goes to no one).
      handleError(error: unknown) {
        reject(error);
      },
      handleRowDescription() {},
      handleDataRow() {},
      handleEmptyQuery() {},
      handlePortalSuspended() {},
      handleCopyData() {},
    };
    (client as unknown as { query(s: unknown): void }).query(submittable);
  });
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** pgvector's binary `vector` (what `vector_recv` reads): int16 dims, int16 0, dims × float4 big-endian. */
export function vectorBinary(v: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(4 + 4 * v.length);
  out.writeInt16BE(v.length, 0);
  out.writeInt16BE(0, 2);
  for (let i = 0; i < v.length; i++) out.writeFloatBE(v[i] as number, 4 + 4 * i);
  return out;
}

/**
 * The binary COPY stream of rows for the columns `(id, content, metadata, embedding)`: header, one tuple per
 * row (text fields as UTF-8, `jsonb` as version byte 1 + JSON text, `vector` in pgvector's binary format),
 * trailer.
 */
export function copyBinaryRows(rows: readonly Row[]): Buffer {
  const parts: Buffer[] = [SIGNATURE, Buffer.alloc(8)];
  for (const row of rows) {
    const id = Buffer.from(row.id, 'utf8');
    const content = Buffer.from(row.content, 'utf8');
    const metadata = Buffer.from(`\x01${JSON.stringify(row.metadata)}`, 'utf8');
    const vector = vectorBinary(row.embedding);
    const head = Buffer.allocUnsafe(2);
    head.writeInt16BE(4, 0);
    parts.push(head);
    for (const field of [id, content, metadata, vector]) {
      const len = Buffer.allocUnsafe(4);
      len.writeInt32BE(field.length, 0);
      parts.push(len, field);
    }
  }
  const trailer = Buffer.allocUnsafe(2);
  trailer.writeInt16BE(-1, 0);
  parts.push(trailer);
  return Buffer.concat(parts);
}
