import { Socket } from 'node:net';

export const text = (value: string): Uint8Array => new TextEncoder().encode(value);
export const cstring = (value: string): Uint8Array => text(`${value}\0`);

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

/**
 * A minimal PostgreSQL wire-protocol client, for tests that must send what `pg` never would (COPY FROM
 * STDIN by hand, invalid messages, half an extended-protocol batch and then silence).
 */
export class RawClient {
  private buffer = Buffer.alloc(0);
  closed = false;
  private wake: () => void = () => {};

  private constructor(private readonly socket: Socket) {
    socket.on('data', (data) => {
      this.buffer = Buffer.concat([this.buffer, data]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  /** Connects to 127.0.0.1:`port` and completes the startup (protocol 3.0, user and database postgres). */
  static async connect(port: number): Promise<RawClient> {
    const socket = new Socket();
    await new Promise<void>((resolve, reject) =>
      socket.once('error', reject).connect(port, '127.0.0.1', resolve),
    );
    const client = new RawClient(socket);
    const params = cstring('user\0postgres\0database\0postgres\0');
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8 + params.length);
    startup.writeInt32BE(196608, 4);
    client.send(startup, params);
    await client.readUntil('Z');
    return client;
  }

  send(...parts: Uint8Array[]): void {
    this.socket.write(concat(parts));
  }

  /** Reads messages up to and including the first of type `type` (or until the server closes). */
  async readUntil(type: string): Promise<{ type: string; body: string }[]> {
    const messages: { type: string; body: string }[] = [];
    for (;;) {
      while (this.buffer.length >= 5 && this.buffer.length >= 1 + this.buffer.readInt32BE(1)) {
        const end = 1 + this.buffer.readInt32BE(1);
        const message = {
          type: String.fromCharCode(this.buffer[0] ?? 0),
          body: this.buffer.subarray(5, end).toString(),
        };
        this.buffer = this.buffer.subarray(end);
        messages.push(message);
        if (message.type === type) return messages;
      }
      if (this.closed) return messages;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
