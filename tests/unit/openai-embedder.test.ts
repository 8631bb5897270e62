// OpenAIEmbedder against a real local HTTP server that speaks the OpenAI embeddings API (node:http on
// loopback): batching and order, retries with backoff and Retry-After, timeouts, refusals, bad answers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  HashingEmbedder,
  OpenAIEmbedder,
  type OpenAIEmbedderOptions,
  PgVectorError,
} from '../../src/index.js';

interface Received {
  readonly body: { model: string; input: string[]; dimensions?: number; encoding_format?: string };
  readonly headers: IncomingMessage['headers'];
}

/** What the server does with the next requests: one entry per request, the last one repeats. */
type Behaviour =
  | { kind: 'ok'; shuffle?: boolean; delayMs?: number }
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  | { kind: 'hang' }
  | { kind: 'raw'; body: string };

const DIMS = 64;
const reference = new HashingEmbedder({ dimensions: DIMS });
let server: Server;
let baseUrl: string;
let script: Behaviour[] = [];
let received: Received[] = [];
let inFlight = 0;
let maxInFlight = 0;
const hanging: ServerResponse[] = [];

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  const body = JSON.parse(raw) as Received['body'];
  const behaviour = (script.length > 1 ? script.shift() : script[0]) ?? { kind: 'ok' };
  received.push({ body, headers: req.headers });
  if (req.url !== '/v1/embeddings' || req.method !== 'POST') {
    res.writeHead(404).end('{"error":{"message":"not found"}}');
    return;
  }
  if (behaviour.kind === 'hang') {
    hanging.push(res);
    return;
  }
  if (behaviour.kind === 'status') {
    res.writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers });
    res.end(behaviour.body ?? '');
    return;
  }
  if (behaviour.kind === 'raw') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(behaviour.body);
    return;
  }
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
  inFlight--;
  const vectors = await reference.embed(body.input);
  const data = vectors.map((embedding, index) => ({ object: 'embedding', index, embedding }));
  if (behaviour.shuffle) data.reverse();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 } }),
  );
}

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch((error) => res.writeHead(500).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  script = [{ kind: 'ok' }];
  received = [];
  inFlight = 0;
  maxInFlight = 0;
});

const embedder = (options: Partial<OpenAIEmbedderOptions> = {}) =>
  new OpenAIEmbedder({
    baseUrl,
    model: 'test-embed',
    dimensions: DIMS,
    apiKey: 'sk-secret-key',
    retryBaseDelayMs: 1,
    ...options,
  });

async function failure(promise: Promise<unknown>): Promise<PgVectorError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error instanceof PgVectorError) return error;
  throw new Error(`expected a PgVectorError, got ${String(error)}`);
}

const texts = ['hnsw index', 'ivfflat lists', 'vacuum after bulk loads', 'ef_search tuning', 'partial index'];

describe('OpenAIEmbedder', () => {
  it('sends batches of batchSize and returns the vectors in the order of the texts', async () => {
    script = [{ kind: 'ok', shuffle: true }];
    const vectors = await embedder({ batchSize: 2, concurrency: 1 }).embed(texts);
    expect(vectors).toEqual(await reference.embed(texts));
    expect(received.map((r) => r.body.input)).toEqual([texts.slice(0, 2), texts.slice(2, 4), texts.slice(4)]);
    expect(received[0]?.body).toEqual({
      model: 'test-embed',
      input: texts.slice(0, 2),
      encoding_format: 'float',
      dimensions: DIMS,
    });
    expect(received[0]?.headers.authorization).toBe('Bearer sk-secret-key');
  });

  it('keeps up to `concurrency` requests in flight', async () => {
    script = [{ kind: 'ok', delayMs: 100 }];
    await embedder({ batchSize: 1, concurrency: 3 }).embed(texts);
    expect(received).toHaveLength(5);
    expect(maxInFlight).toBe(3);
  });

  it('leaves out `dimensions` with sendDimensions: false, and sends no key when there is none', async () => {
    const saved = process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_API_KEY;
    try {
      await new OpenAIEmbedder({ baseUrl, model: 'm', dimensions: DIMS, sendDimensions: false }).embed(['a']);
    } finally {
      if (saved !== undefined) process.env.OPENAI_API_KEY = saved;
    }
    expect(received[0]?.body).not.toHaveProperty('dimensions');
    expect(received[0]?.headers.authorization).toBeUndefined();
  });

  it('retries 429 and 5xx answers, honouring Retry-After, then succeeds', async () => {
    script = [
      {
        kind: 'status',
        status: 429,
        headers: { 'retry-after': '0' },
        body: '{"error":{"message":"slow down"}}',
      },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 500, headers: { 'retry-after-ms': '5' } },
      { kind: 'ok' },
    ];
    const vectors = await embedder({ maxRetries: 3 }).embed(['a b']);
    expect(vectors).toEqual(await reference.embed(['a b']));
    expect(received).toHaveLength(4);
  });

  it('waits as long as Retry-After asks, capped by maxRetryDelayMs', async () => {
    script = [{ kind: 'status', status: 429, headers: { 'retry-after-ms': '300' } }, { kind: 'ok' }];
    let started = performance.now();
    await embedder({ maxRetries: 1 }).embed(['a']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    script = [{ kind: 'status', status: 429, headers: { 'retry-after': '3600' } }, { kind: 'ok' }];
    started = performance.now();
    await embedder({ maxRetries: 1, maxRetryDelayMs: 20 }).embed(['a']);
    expect(performance.now() - started).toBeLessThan(60_000);
    expect(received).toHaveLength(4);
  });

  it('gives up after maxRetries with EMBEDDING_FAILED naming the status and the tries', async () => {
    script = [{ kind: 'status', status: 503, body: '{"error":{"message":"overloaded"}}' }];
    const error = await failure(embedder({ maxRetries: 2 }).embed(['a']));
    expect(error.code).toBe('EMBEDDING_FAILED');
    expect(error.message).toContain('HTTP 503: overloaded');
    expect(error.message).toContain('gave up after 3 tries');
    expect(received).toHaveLength(3);
  });

  it('does not retry a refusal (400, 401) and never shows the key', async () => {
    script = [{ kind: 'status', status: 401, body: '{"error":{"message":"Incorrect API key provided"}}' }];
    const error = await failure(embedder({ maxRetries: 5 }).embed(['a']));
    expect(error.code).toBe('EMBEDDING_FAILED');
    expect(error.message).toContain('HTTP 401: Incorrect API key provided');
    expect(error.message).not.toContain('sk-secret-key');
    expect(received).toHaveLength(1);
  });

  it('times out a request that does not answer, retries it, then throws EMBEDDING_TIMEOUT', async () => {
    script = [{ kind: 'hang' }];
    const error = await failure(embedder({ timeoutMs: 150, maxRetries: 1 }).embed(['a']));
    expect(error.code).toBe('EMBEDDING_TIMEOUT');
    expect(error.message).toContain('no answer within 150 ms');
    expect(received).toHaveLength(2);
  });

  it('recovers when a timed-out try is followed by an answer', async () => {
    script = [{ kind: 'hang' }, { kind: 'ok' }];
    expect(await embedder({ timeoutMs: 150, maxRetries: 1 }).embed(['a'])).toEqual(
      await reference.embed(['a']),
    );
  });

  it.each([
    ['not JSON', 'Bad Gateway', 'not JSON'],
    ['no data', '{"object":"list"}', 'no `data` array'],
    ['too few vectors', '{"data":[]}', '1 texts sent, 0 vectors returned'],
    ['wrong length', '{"data":[{"index":0,"embedding":[1,2,3]}]}', 'has 3 dimensions, expected 64'],
    [
      'a null element',
      JSON.stringify({ data: [{ index: 0, embedding: [null, ...Array(63).fill(0)] }] }),
      'holds null',
    ],
    ['base64', '{"data":[{"index":0,"embedding":"AAAA"}]}', 'not an array'],
    ['a bad index', `{"data":[{"index":7,"embedding":[${Array(64).fill(0).join(',')}]}]}`, 'index is 7'],
  ])('refuses an answer with %s (EMBEDDING_INVALID_RESPONSE)', async (_name, body, message) => {
    script = [{ kind: 'raw', body }];
    const error = await failure(embedder().embed(['a']));
    expect(error.code).toBe('EMBEDDING_INVALID_RESPONSE');
    expect(error.message).toContain(message);
    expect(received).toHaveLength(1);
  });

  it('refuses empty and non-string texts before sending anything', async () => {
    const empty = await failure(embedder().embed(['a', '  ']));
    expect(empty.code).toBe('INVALID_ARGUMENT');
    expect(empty.message).toContain('texts[1] is empty');
    const notString = await failure(embedder().embed(['a', 7 as unknown as string]));
    expect(notString.message).toContain('texts[1] is not a string but 7');
    expect(received).toHaveLength(0);
  });

  it('stops at once when its signal aborts', async () => {
    script = [{ kind: 'hang' }];
    const controller = new AbortController();
    const pending = failure(embedder({ signal: controller.signal, timeoutMs: 60_000 }).embed(['a']));
    setTimeout(() => controller.abort(), 50);
    const error = await pending;
    expect(error.code).toBe('EMBEDDING_FAILED');
    expect(error.message).toContain('aborted');
  });

  it.each([
    [{ model: '' }, 'model must be a non-empty string'],
    [{ dimensions: 0 }, 'dimensions must be an integer from 1 to 16000, got 0'],
    [{ batchSize: 5000 }, 'batchSize must be an integer from 1 to 2048'],
    [{ baseUrl: 'ftp://x' }, 'baseUrl must be an http(s) URL'],
    [{ maxRetries: 10n as unknown as number }, 'maxRetries must be an integer from 0 to 20, got 10'],
  ])('refuses bad options %o with INVALID_CONFIG', (options, message) => {
    let error: unknown;
    try {
      embedder(options as Partial<OpenAIEmbedderOptions>);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PgVectorError);
    expect((error as PgVectorError).code).toBe('INVALID_CONFIG');
    expect((error as PgVectorError).message).toContain(message);
  });
});
