/**
 * An {@link Embedder} over any OpenAI-compatible embeddings API (`POST {baseUrl}/embeddings`): OpenAI,
 * Azure OpenAI's v1 endpoint, vLLM, Ollama, LM Studio, LiteLLM, Together, … Batches the texts, retries 429
 * and 5xx answers with exponential backoff (honouring `Retry-After`), times out each request, and checks
 * every vector it gets back before the store sees it.
 */

import type { Embedder } from './embedder.js';
import { PgVectorError } from './errors.js';
import { MAX_DIMENSIONS } from './vector.js';

/** Options of {@link OpenAIEmbedder}. */
export interface OpenAIEmbedderOptions {
  /** The model, e.g. `text-embedding-3-small`. */
  readonly model: string;
  /** Length of every vector; the store's `dimensions` must equal it. */
  readonly dimensions: number;
  /**
   * Send `dimensions` in the request (text-embedding-3 models shorten their vectors to it). Default `true`;
   * set `false` for servers or models that reject the field — the answer's length is checked either way.
   */
  readonly sendDimensions?: boolean;
  /** Bearer token. Default: `process.env.OPENAI_API_KEY`; none is sent when neither is set (local servers). */
  readonly apiKey?: string;
  /** API root without `/embeddings`. Default `process.env.OPENAI_BASE_URL`, else OpenAI's `https://api.openai.com/v1`. */
  readonly baseUrl?: string;
  /** Texts per request, 1–2048. Default 256. */
  readonly batchSize?: number;
  /** Requests in flight at once, 1–16. Default 2. */
  readonly concurrency?: number;
  /** Retries of one request after a 408, 409, 429, 5xx answer, a network error or a timeout, 0–20. Default 5. */
  readonly maxRetries?: number;
  /** First backoff in ms, doubled per retry with full jitter, capped by `maxRetryDelayMs`. Default 500. */
  readonly retryBaseDelayMs?: number;
  /** Longest wait between two tries in ms (also caps `Retry-After`). Default 20,000. */
  readonly maxRetryDelayMs?: number;
  /** Time limit of one request in ms. Default 60,000. */
  readonly timeoutMs?: number;
  /** Extra headers (e.g. `OpenAI-Organization`, `api-key` for Azure). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborts every request of this embedder (e.g. on shutdown). */
  readonly signal?: AbortSignal;
  /** The `fetch` to use. Default: the global one (Node ≥ 18). */
  readonly fetch?: typeof fetch;
}

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
const RETRY_STATUSES = new Set([408, 409, 429]);

/** One failed try: what happened, and whether trying again may help. */
interface Attempt {
  readonly retry: boolean;
  readonly message: string;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly timedOut?: boolean;
  readonly cause?: unknown;
}

/**
 * Embeds texts through an OpenAI-compatible `/embeddings` endpoint.
 *
 * Texts are sent in batches of `batchSize` (`concurrency` requests at a time) and the vectors come back in
 * the texts' order. A 408/409/429/5xx answer, a network error or a timeout is retried up to `maxRetries`
 * times with exponential backoff and full jitter (`Retry-After` / `retry-after-ms` honoured, capped by
 * `maxRetryDelayMs`); other answers fail at once. Errors are {@link PgVectorError}s:
 * `EMBEDDING_FAILED` (the API refused, or retries ran out; the message has the HTTP status and the API's
 * own error message, never the key), `EMBEDDING_TIMEOUT` (the last try timed out), `EMBEDDING_INVALID_RESPONSE`
 * (not the shape of the API, a missing or non-finite vector, or one of another length),
 * `INVALID_ARGUMENT` (an empty or non-string text, named by position; nothing is sent).
 *
 * ### Examples
 * ```ts
 * const embedder = new OpenAIEmbedder({ model: 'text-embedding-3-small', dimensions: 1536 });
 * const store = createVectorStore(prisma, { pool, embedder });
 * await store.addTexts([{ content: 'HNSW in practice' }]);
 *
 * // A local server (vLLM, Ollama, LM Studio) speaking the same API:
 * new OpenAIEmbedder({ baseUrl: 'http://127.0.0.1:11434/v1', model: 'nomic-embed-text', dimensions: 768,
 *   sendDimensions: false });
 * ```
 *
 * The request it sends: `POST {baseUrl}/embeddings` with
 * `{"model": "...", "input": ["...", ...], "encoding_format": "float", "dimensions": 1536}`.
 */
export class OpenAIEmbedder implements Embedder {
  readonly dimensions: number;
  readonly model: string;
  private readonly url: string;
  private readonly headers: Record<string, string>;
  private readonly sendDimensions: boolean;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly maxRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly fetchFn: typeof fetch;

  constructor(options: OpenAIEmbedderOptions) {
    if (options === null || typeof options !== 'object')
      throw optionError('options must be an object with `model` and `dimensions`');
    const { model, dimensions } = options;
    if (typeof model !== 'string' || model.trim() === '')
      throw optionError('model must be a non-empty string');
    this.model = model;
    this.dimensions = integerOption('dimensions', dimensions, 1, MAX_DIMENSIONS.vector, undefined);
    this.sendDimensions = options.sendDimensions ?? true;
    this.batchSize = integerOption('batchSize', options.batchSize, 1, 2048, 256);
    this.concurrency = integerOption('concurrency', options.concurrency, 1, 16, 2);
    this.maxRetries = integerOption('maxRetries', options.maxRetries, 0, 20, 5);
    this.retryBaseDelayMs = integerOption('retryBaseDelayMs', options.retryBaseDelayMs, 0, 600_000, 500);
    this.maxRetryDelayMs = integerOption('maxRetryDelayMs', options.maxRetryDelayMs, 0, 600_000, 20_000);
    this.timeoutMs = integerOption('timeoutMs', options.timeoutMs, 1, 3_600_000, 60_000);
    const baseUrl = options.baseUrl ?? process.env.OPENAI_BASE_URL ?? DEFAULT_BASE_URL;
    let url: URL;
    try {
      url = new URL(`${baseUrl.replace(/\/+$/, '')}/embeddings`);
    } catch {
      throw optionError(`baseUrl is not a URL: ${JSON.stringify(baseUrl)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw optionError(`baseUrl must be an http(s) URL, got ${url.protocol}`);
    this.url = url.toString();
    const apiKey = options.apiKey ?? process.env.OPENAI_API_KEY;
    this.headers = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      ...options.headers,
    };
    this.signal = options.signal;
    const fetchFn = options.fetch ?? globalThis.fetch;
    if (typeof fetchFn !== 'function') throw optionError('no fetch: pass options.fetch (Node ≥ 18 has one)');
    this.fetchFn = fetchFn;
  }

  /** One vector per text, in the same order; see the class comment for batching, retries and errors. */
  async embed(texts: readonly string[]): Promise<number[][]> {
    if (!Array.isArray(texts))
      throw new PgVectorError('INVALID_ARGUMENT', 'embed expects an array of strings');
    texts.forEach((text: unknown, i) => {
      if (typeof text !== 'string')
        throw new PgVectorError('INVALID_ARGUMENT', `texts[${i}] is not a string but ${describe(text)}`);
      if (text.trim() === '')
        throw new PgVectorError(
          'INVALID_ARGUMENT',
          `texts[${i}] is empty or only whitespace: nothing to embed`,
          {
            fix: 'skip empty texts before embedding (embedding APIs reject them)',
          },
        );
    });
    const out = new Array<number[]>(texts.length);
    const starts: number[] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) starts.push(i);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < starts.length) {
        const start = starts[next++] as number;
        const batch = texts.slice(start, start + this.batchSize);
        const vectors = await this.request(batch, start);
        vectors.forEach((v, j) => {
          out[start + j] = v;
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, starts.length) }, worker));
    return out;
  }

  /** Sends one batch, retrying as the class comment says. */
  private async request(batch: readonly string[], offset: number): Promise<number[][]> {
    const body = JSON.stringify({
      model: this.model,
      input: batch,
      encoding_format: 'float',
      ...(this.sendDimensions ? { dimensions: this.dimensions } : {}),
    });
    const where = `texts[${offset}..${offset + batch.length - 1}]`;
    for (let attempt = 0; ; attempt++) {
      const result = await this.try(body, batch.length, where);
      if (Array.isArray(result)) return result;
      if (!result.retry || attempt >= this.maxRetries) {
        const tries = attempt + 1;
        const message = `embeddings ${where} (model ${this.model}): ${result.message}${
          result.retry ? ` — gave up after ${tries} ${tries === 1 ? 'try' : 'tries'}` : ''
        }`;
        throw new PgVectorError(result.timedOut ? 'EMBEDDING_TIMEOUT' : 'EMBEDDING_FAILED', message, {
          cause: result.cause,
          ...(result.retry ? { fix: 'retry later, or raise maxRetries / timeoutMs' } : {}),
        });
      }
      await sleep(this.backoff(attempt, result.retryAfterMs), this.signal);
    }
  }

  /** Milliseconds before retry number `attempt + 1`. */
  private backoff(attempt: number, retryAfterMs: number | undefined): number {
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, this.maxRetryDelayMs);
    const ceiling = Math.min(this.maxRetryDelayMs, this.retryBaseDelayMs * 2 ** attempt);
    return Math.random() * ceiling;
  }

  /** One HTTP request: the vectors, or why not. */
  private async try(body: string, count: number, where: string): Promise<number[][] | Attempt> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = this.signal ? AbortSignal.any([this.signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await this.fetchFn(this.url, { method: 'POST', headers: this.headers, body, signal });
      text = await response.text();
    } catch (error) {
      if (this.signal?.aborted)
        throw new PgVectorError('EMBEDDING_FAILED', `embeddings ${where}: aborted`, { cause: error });
      if (timeout.aborted)
        return {
          retry: true,
          timedOut: true,
          message: `no answer within ${this.timeoutMs} ms`,
          cause: error,
        };
      return { retry: true, message: `request failed: ${errorText(error)}`, cause: error };
    }
    if (!response.ok) {
      const status = response.status;
      const retryAfterMs = retryAfter(response.headers);
      return {
        retry: RETRY_STATUSES.has(status) || status >= 500,
        status,
        message: `HTTP ${status}${apiMessage(text)}`,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      };
    }
    return this.parse(text, count, where);
  }

  /** The vectors of a 2xx answer, in input order, each checked. */
  private parse(text: string, count: number, where: string): number[][] {
    const invalid = (why: string) =>
      new PgVectorError('EMBEDDING_INVALID_RESPONSE', `embeddings ${where} (model ${this.model}): ${why}`, {
        fix: 'check baseUrl and model: the server must speak the OpenAI embeddings API',
      });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw invalid(`the answer is not JSON: ${JSON.stringify(text.slice(0, 120))}`);
    }
    const data = (json as { data?: unknown } | null)?.data;
    if (!Array.isArray(data)) throw invalid('the answer has no `data` array');
    if (data.length !== count) throw invalid(`${count} texts sent, ${data.length} vectors returned`);
    const out = new Array<number[]>(count);
    data.forEach((item: unknown, position) => {
      const { index = position, embedding } = (item ?? {}) as { index?: unknown; embedding?: unknown };
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count || out[index])
        throw invalid(
          `data[${position}].index is ${JSON.stringify(index)}: not a fresh position of the batch`,
        );
      if (!Array.isArray(embedding))
        throw invalid(`data[${position}].embedding is not an array (base64 answers are not asked for)`);
      if (embedding.length !== this.dimensions)
        throw invalid(
          `data[${position}].embedding has ${embedding.length} dimensions, expected ${this.dimensions}` +
            (this.sendDimensions ? '' : ' (sendDimensions is off: the model decides the length)'),
        );
      for (const x of embedding)
        if (typeof x !== 'number' || !Number.isFinite(x))
          throw invalid(`data[${position}].embedding holds ${String(x)}`);
      out[index] = embedding as number[];
    });
    return out;
  }
}

function optionError(message: string): PgVectorError {
  return new PgVectorError('INVALID_CONFIG', `OpenAIEmbedder: ${message}`);
}

function integerOption(
  name: string,
  value: unknown,
  min: number,
  max: number,
  fallback: number | undefined,
): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw optionError(`${name} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  return value;
}

/** A value for a message, safe for any input (symbols, BigInt, null-prototype objects). */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

/** `: <the API's error message>` from an error body (`{"error": {"message": …}}`), or a short excerpt. */
function apiMessage(text: string): string {
  if (text.trim() === '') return '';
  try {
    const json = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof json.error === 'string' ? json.error : (json.error?.message ?? json.message);
    if (typeof m === 'string' && m !== '') return `: ${m.slice(0, 500)}`;
  } catch {
    // not JSON: fall through to the excerpt
  }
  return `: ${text.slice(0, 200)}`;
}

/** `retry-after-ms` (OpenAI's), else `Retry-After` in seconds or as an HTTP date; undefined when absent. */
function retryAfter(headers: Headers): number | undefined {
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.has('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new PgVectorError('EMBEDDING_FAILED', 'embeddings: aborted', { cause: signal.reason }));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new PgVectorError('EMBEDDING_FAILED', 'embeddings: aborted', { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
