import { describe, expect, it, vi } from 'vitest';
import { PgVectorError, type PgVectorErrorCode } from '../../src/index.js';
import {
  httpErrorOf,
  INPUT_ERROR_CODES,
  PayloadTooLargeError,
  UNAVAILABLE_ERROR_CODES,
} from '../../src/integrations/http-errors.js';
import { handleAddDocuments, handleSearch } from '../../src/integrations/requests.js';
import { runNode } from '../support/prisma-cli.js';

// The doors' own parts, without an app: the HTTP error mapping, the body checks (refused before the store is
// touched), the route helpers' size limit, the singleton across a module reload, and the Edge runtime error
// of the built `prisma-pgvector/next`.

describe('httpErrorOf', () => {
  it('answers input errors with 400 and the library’s message', () => {
    for (const code of INPUT_ERROR_CODES) {
      expect(httpErrorOf(new PgVectorError(code, `bad ${code}`))).toEqual({
        status: 400,
        body: { error: { code, message: `bad ${code}` } },
      });
    }
  });

  it('answers errors that pass with 503, everything else with 500, without their details', () => {
    const secret = 'password authentication failed for user "app" at 10.0.0.7';
    for (const code of UNAVAILABLE_ERROR_CODES) {
      const answer = httpErrorOf(new PgVectorError(code, secret));
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe(code);
      expect(JSON.stringify(answer.body)).not.toContain('10.0.0.7');
    }
    for (const code of ['DATABASE_ERROR', 'EXTENSION_MISSING', 'INVALID_CONFIG'] as PgVectorErrorCode[]) {
      const answer = httpErrorOf(new PgVectorError(code, secret));
      expect(answer.status).toBe(500);
      expect(JSON.stringify(answer.body)).not.toContain('10.0.0.7');
    }
    const plain = httpErrorOf(new Error(secret));
    expect(plain).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL_ERROR', message: expect.any(String) } },
    });
    expect(JSON.stringify(plain)).not.toContain('10.0.0.7');
    expect(httpErrorOf(new PayloadTooLargeError('too big')).status).toBe(413);
  });

  it('knows a PgVectorError of another copy of the package by name and code', () => {
    const foreign = Object.assign(new Error('k must be at least 1'), {
      name: 'PgVectorError',
      code: 'INVALID_ARGUMENT',
    });
    expect(httpErrorOf(foreign).status).toBe(400);
  });
});

describe('request bodies', () => {
  // A store that fails the test when touched: these bodies must be refused before any store call.
  const untouchable = new Proxy(
    {},
    {
      get(_target, name) {
        throw new Error(`the store was used (${String(name)})`);
      },
    },
  ) as never;

  it.each([
    [null, /JSON object/],
    [[], /JSON object/],
    [{}, /either "query"/],
    [{ query: 'a', embedding: [1] }, /not both/],
    [{ query: '   ' }, /non-empty/],
    [{ query: 'a', k: 0 }, /"k"/],
    [{ query: 'a', k: 101 }, /"k"/],
    [{ query: 'a', k: 2.5 }, /"k"/],
    [{ query: 'a', filter: [] }, /"filter"/],
    [{ query: 'a', limit: 3 }, /unknown field "limit"/],
    [{ query: 'x'.repeat(10_001) }, /longer than/],
  ])('search refuses %j', async (body, message) => {
    const error = await handleSearch(untouchable, body).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PgVectorError);
    expect((error as PgVectorError).code).toBe('INVALID_ARGUMENT');
    expect((error as PgVectorError).message).toMatch(message);
  });

  it.each([
    [{ documents: [] }, /non-empty/],
    [{ docs: [] }, /unknown field "docs"/],
    [{ documents: [{ content: 1 }] }, /documents\[0\]\.content/],
    [{ documents: [{ content: 'a', metadata: [1] }] }, /documents\[0\]\.metadata/],
    [{ documents: [{ content: 'a', id: 7 }] }, /documents\[0\]\.id/],
    [{ documents: [{ content: 'a', embedding: [1] }, { content: 'b' }] }, /every document/],
    [{ documents: [{ content: 'a', embedding: 'x' }] }, /documents\[0\]\.embedding/],
  ])('add refuses %j', async (body, message) => {
    const error = await handleAddDocuments(untouchable, body).catch((e: unknown) => e);
    expect((error as PgVectorError).code).toBe('INVALID_ARGUMENT');
    expect((error as PgVectorError).message).toMatch(message);
  });

  it('add refuses more documents than allowed', async () => {
    const body = { documents: [{ content: 'a' }, { content: 'b' }] };
    const error = await handleAddDocuments(untouchable, body, { maxDocuments: 1 }).catch((e: unknown) => e);
    expect((error as PgVectorError).message).toMatch(/at most 1/);
  });
});

describe('prisma-pgvector/next', () => {
  it('answers a body above the limit with 413, and a body that is not JSON with 400, before the store', async () => {
    const { searchRoute } = await import('../../src/integrations/next/index.js');
    const getStore = () => {
      throw new Error('the store was asked for');
    };
    const route = searchRoute(getStore, { maxBodyBytes: 1024 });
    // No content-length: a stream, counted as it is read.
    const big = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(`{"query":"${'x'.repeat(2048)}"}`));
        controller.close();
      },
    });
    const tooBig = await route(
      new Request('http://app/api/search', { method: 'POST', body: big, duplex: 'half' } as RequestInit),
    );
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toEqual({
      error: { code: 'PAYLOAD_TOO_LARGE', message: expect.any(String) },
    });
    const notJson = await route(new Request('http://app/api/search', { method: 'POST', body: '{"query":' }));
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT');
  });

  it('answers a failing store with 500 and a fixed message, and logs the error', async () => {
    const { searchRoute } = await import('../../src/integrations/next/index.js');
    const logged: unknown[] = [];
    const failure = new PgVectorError('DATABASE_ERROR', 'relation "documents" does not exist');
    const route = searchRoute(
      () =>
        ({
          searchText: () => Promise.reject(failure),
        }) as never,
      { onError: (error) => logged.push(error) },
    );
    const answer = await route(
      new Request('http://app/api/search', { method: 'POST', body: JSON.stringify({ query: 'hello' }) }),
    );
    expect(answer.status).toBe(500);
    const text = await answer.text();
    expect(text).not.toContain('relation');
    expect(JSON.parse(text).error.code).toBe('DATABASE_ERROR');
    expect(logged).toEqual([failure]);
  });

  it('keeps one value per key across a module reload in development, none at import', async () => {
    vi.stubEnv('NODE_ENV', 'development');
    try {
      let made = 0;
      const first = await import('../../src/integrations/next/singleton.js');
      const get = first.singleton('doors-test', () => ({ n: ++made }));
      expect(made).toBe(0);
      const value = get();
      expect(get()).toBe(value);
      vi.resetModules(); // what a hot reload does to the app's modules
      const second = await import('../../src/integrations/next/singleton.js');
      expect(second).not.toBe(first);
      expect(second.singleton('doors-test', () => ({ n: ++made }))()).toBe(value);
      expect(made).toBe(1);
      expect(second.singleton('other-key', () => ({ n: ++made }))()).not.toBe(value);
    } finally {
      vi.unstubAllEnvs();
      delete (globalThis as Record<string, unknown>)['__prismaPgvector:doors-test'];
      delete (globalThis as Record<string, unknown>)['__prismaPgvector:other-key'];
    }
  });

  it('keeps production singletons off globalThis', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    try {
      const { singleton } = await import('../../src/integrations/next/singleton.js');
      const get = singleton('doors-prod', () => ({}));
      expect(get()).toBe(get());
      expect('__prismaPgvector:doors-prod' in globalThis).toBe(false);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('refuses to load on the Edge runtime, naming the fix (built package)', async () => {
    const run = await runNode([
      '--input-type=module',
      '-e',
      "globalThis.EdgeRuntime = 'edge-runtime'; await import('prisma-pgvector/next');",
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("export const runtime = 'nodejs'");
    const node = await runNode([
      '--input-type=module',
      '-e',
      "await import('prisma-pgvector/next'); console.log('ok')",
    ]);
    expect(node.code, node.stderr).toBe(0);
  });
});

describe('prisma-pgvector/nest (built package)', () => {
  const probe = `
    const filterOf = Reflect.getMetadata('__filterCatchExceptions__', m.PgVectorExceptionFilter);
    const http = m.toHttpException(new root.PgVectorError('INVALID_FILTER', 'bad'));
    console.log(JSON.stringify({
      module: typeof m.PgVectorModule.forRootAsync, catches: filterOf.map((c) => c.name),
      token: m.VECTOR_STORE, status: http.getStatus(), body: http.getResponse(),
    }));`;
  it.each([
    [
      'ESM',
      'module',
      "const m = await import('prisma-pgvector/nest'); const root = await import('prisma-pgvector');",
    ],
    [
      'CommonJS',
      'commonjs',
      "const m = require('prisma-pgvector/nest'); const root = require('prisma-pgvector');",
    ],
  ])('loads from %s, with Nest metadata on the module and the filter', async (_kind, type, load) => {
    const run = await runNode([`--input-type=${type}`, '-e', `${load}\n${probe}`]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      module: 'function',
      catches: ['PgVectorError'],
      token: 'prisma-pgvector:VectorStore',
      status: 400,
      body: { error: { code: 'INVALID_FILTER', message: 'bad' } },
    });
  });
});
