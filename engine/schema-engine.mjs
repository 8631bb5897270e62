#!/usr/bin/env node
// @ts-check
/**
 * A stand-in for Prisma's native `schema-engine` executable, for machines that cannot download it.
 *
 * The Prisma CLI spawns the executable named by `PRISMA_SCHEMA_ENGINE_BINARY` and talks to it in one of two ways:
 * - `schema-engine [--datasource JSON] cli <command>`: one-shot commands (`can-connect-to-database`,
 *   `create-database`, `drop-database`), answered with the exit code and JSON log lines on stderr;
 * - `schema-engine --datamodels FILE… --datasource JSON`: JSON-RPC 2.0, one message per line on stdin/stdout.
 * `--path` prints this file's absolute path (for `PRISMA_SCHEMA_ENGINE_BINARY` before a prisma.config.ts exists).
 *
 * Both are served here by Prisma's own schema engine compiled to WebAssembly (`@prisma/schema-engine-wasm`),
 * connected to the database through Prisma's Postgres driver adapter (`@prisma/adapter-pg`). Three things differ
 * from the native engine and are handled here:
 * 1. adapter-pg splits scripts on every `;`; migration scripts are sent whole through the simple query protocol.
 * 2. adapter-pg rejects Postgres's internal `"char"` type (used by the catalogue); it is read as text.
 * 3. The shadow database: the configured `shadowDatabaseUrl` (wiped first, as the native engine does), or else a
 *    fresh in-memory PGlite with pgvector, served over the wire for the duration of the command.
 *
 * Only PostgreSQL URLs are supported.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory, ColumnTypeEnum } from '@prisma/driver-adapter-utils';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';
import pg from 'pg';
import { PGVECTOR_HINTS, pgvectorHint as withPgvectorHint } from './pgvector-hints.mjs';

const require = createRequire(import.meta.url);

/** Reads `--flag value` pairs and the trailing positional words. */
function parseArgs(argv) {
  /** @type {{ datamodels: string[], datasource: { url?: string, shadowDatabaseUrl?: string } | undefined, previewFeatures: string[], positional: string[], version: boolean, path: boolean }} */
  const out = {
    datamodels: [],
    datasource: undefined,
    previewFeatures: [],
    positional: [],
    version: false,
    path: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      return value;
    };
    if (arg === '--datamodels') out.datamodels.push(next());
    else if (arg === '--datasource') out.datasource = JSON.parse(next());
    else if (arg === '--enabled-preview-features') out.previewFeatures = next().split(',');
    else if (arg === '--extension-types') next();
    else if (arg === '--version' || arg === '-V') out.version = true;
    else if (arg === '--path') out.path = true;
    else out.positional.push(String(arg));
  }
  return out;
}

/** The last Rust panic message of the WASM engine (it reports panics through this global before trapping). */
let lastPanic;
Object.assign(globalThis, {
  PRISMA_WASM_PANIC_REGISTRY: {
    set_message(/** @type {string} */ message) {
      lastPanic = message;
    },
  },
});

/** Loads the WASM engine without Node's experimental WASM module support. */
async function loadWasmEngine() {
  const wasmPath = require
    .resolve('@prisma/schema-engine-wasm')
    .replace(/schema_engine\.js$/, 'schema_engine_bg.wasm');
  const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), { './schema_engine_bg.js': bg });
  bg.__wbg_set_wasm(instance.exports);
  /** @type {any} */ (instance.exports).__wbindgen_start();
  return bg;
}

/** One JSON log line on stderr, in the shape the CLI parses (`{ level, target, fields: { message, … } }`). */
function log(level, message, extra = {}) {
  process.stderr.write(
    `${JSON.stringify({ timestamp: new Date().toISOString(), level, target: 'schema_engine::logger', fields: { message, ...extra } })}\n`,
  );
}

// --- adapter-pg adjustments (see the file comment) -------------------------------------------------------------

const CHAR_OID = 18;
const TEXT_OID = 25;
let adapterPatched = false;

/**
 * Reads `"char"` columns (OID 18, used throughout the catalogue) as the engine's `Character` type: adapter-pg has
 * no mapping for it and the engine panics on introspection. The column is fetched as text, then re-typed.
 */
function patchAdapter(adapter) {
  if (adapterPatched) return;
  const queryable = Object.getPrototypeOf(Object.getPrototypeOf(adapter));
  const { performIO, queryRaw } = queryable ?? {};
  if (typeof performIO !== 'function' || typeof queryRaw !== 'function') {
    throw new Error(
      '@prisma/adapter-pg changed: performIO/queryRaw not found. Use the version pinned in package.json.',
    );
  }
  /** @type {WeakMap<object, number[]>} */
  const charColumns = new WeakMap();
  queryable.performIO = async function patchedPerformIO(query) {
    const result = await performIO.call(this, query);
    const indexes = [];
    (result?.fields ?? []).forEach((field, i) => {
      if (field.dataTypeID === CHAR_OID) {
        field.dataTypeID = TEXT_OID;
        indexes.push(i);
      }
    });
    if (indexes.length > 0) charColumns.set(query, indexes);
    return result;
  };
  queryable.queryRaw = async function patchedQueryRaw(query) {
    const resultSet = await queryRaw.call(this, query);
    for (const i of charColumns.get(query) ?? []) resultSet.columnTypes[i] = ColumnTypeEnum.Character;
    return resultSet;
  };
  adapterPatched = true;
}

/** Runs a whole script through the simple query protocol (statements are never split on `;`). */
function executeScriptWhole(adapter) {
  adapter.executeScript = async (script) => {
    try {
      await adapter.underlyingDriver().query(script);
    } catch (error) {
      adapter.onError(error);
    }
  };
  return adapter;
}

/**
 * Connects adapter-pg to a URL. Prisma's `?schema=NAME` parameter (unknown to `pg`) becomes the adapter's
 * schema and the session's search_path (the schema first, then public, where extensions usually live).
 */
async function connectPg(url) {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  const config = schema
    ? {
        connectionString: parsed.toString(),
        // The server splits startup options on whitespace; a backslash escapes the next character.
        options: `-c search_path=${`"${schema.replaceAll('"', '""')}",public`.replace(/[\s\\]/g, (c) => `\\${c}`)}`,
      }
    : { connectionString: url };
  const adapter = await new PrismaPg(config, schema ? { schema } : undefined).connect();
  patchAdapter(adapter);
  return executeScriptWhole(adapter);
}

/** Empties a configured shadow database the way the native engine does before using it. */
async function wipeDatabase(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      `select nspname from pg_namespace
        where nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and nspname not like 'pg_temp_%'
          and nspname not like 'pg_toast_temp_%'`,
    );
    const drops = rows
      .map((r) => `DROP SCHEMA "${String(r.nspname).replaceAll('"', '""')}" CASCADE;`)
      .join('\n');
    await client.query(`${drops}\nCREATE SCHEMA public;`);
  } finally {
    await client.end();
  }
}

/**
 * A fresh in-memory PGlite with pgvector, served over the wire on a free loopback port. With the main URL's
 * `?schema=`, the shadow works in that schema too: PGlite's wire server ignores startup options, but its one
 * session keeps a `SET search_path` for every connection.
 */
async function startEphemeralShadow(/** @type {string | undefined} */ schema) {
  const [{ PGlite }, { vector }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-pgvector'),
    import('@electric-sql/pglite-socket'),
  ]);
  const db = await PGlite.create({ extensions: { vector } });
  if (schema) {
    const quoted = `"${schema.replaceAll('"', '""')}"`;
    await db.exec(`CREATE SCHEMA IF NOT EXISTS ${quoted}; SET search_path TO ${quoted}, public;`);
  }
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 });
  await server.start();
  const address = /** @type {any} */ (server).server?.address();
  const port =
    typeof address === 'object' && address ? address.port : Number(server.getServerConn().split(':').pop());
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres${schema ? `?schema=${encodeURIComponent(schema)}` : ''}`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

/** The driver adapter factory the WASM engine uses for the main and the shadow database. */
function adapterFactory(datasource) {
  const url = datasource?.url;
  if (!url) throw new Error('No datasource URL: set `datasource.url` in prisma.config.ts (DATABASE_URL).');
  if (!/^postgres(ql)?:\/\//.test(url))
    throw new Error('The offline schema engine supports PostgreSQL URLs only.');
  const shadows = [];
  const factory = {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: () => connectPg(url),
    async connectToShadowDb() {
      if (datasource.shadowDatabaseUrl) {
        await wipeDatabase(datasource.shadowDatabaseUrl);
        return connectPg(datasource.shadowDatabaseUrl);
      }
      const shadow = await startEphemeralShadow(new URL(url).searchParams.get('schema') ?? undefined);
      shadows.push(shadow);
      const adapter = await connectPg(shadow.url);
      const dispose = adapter.dispose.bind(adapter);
      adapter.dispose = async () => {
        await dispose(); // ends the adapter's pool
        await shadow.stop();
        shadows.splice(shadows.indexOf(shadow), 1);
      };
      return adapter;
    },
    async close() {
      await Promise.all(shadows.map((s) => s.stop().catch(() => {})));
    },
  };
  return factory;
}

// --- `cli <command>` mode --------------------------------------------------------------------------------------

async function runCliCommand(command, datasource) {
  const url = datasource?.url;
  // The CLI drops the first stderr line before parsing the rest as JSON.
  log('INFO', `offline schema engine: ${command}`);
  if (!url) {
    log('ERROR', 'No datasource URL given.', { error_code: 'P1012' });
    return 1;
  }
  const target = new URL(url);
  const connect = async (database) => {
    const u = new URL(url);
    if (database) u.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: 10_000 });
    await client.connect();
    return client;
  };
  const dbName = decodeURIComponent(target.pathname.slice(1)) || 'postgres';
  try {
    if (command === 'can-connect-to-database') {
      const client = await connect();
      await client.end();
      return 0;
    }
    if (command === 'create-database' || command === 'drop-database') {
      const client = await connect('postgres');
      try {
        const verb = command === 'create-database' ? 'CREATE' : 'DROP';
        await client.query(`${verb} DATABASE "${dbName.replaceAll('"', '""')}"`);
      } finally {
        await client.end();
      }
      return 0;
    }
    log('ERROR', `Unknown cli command: ${command}`);
    return 1;
  } catch (error) {
    const e = /** @type {{ code?: string, message?: string }} */ (error);
    const code = e.code === '3D000' ? 'P1003' : e.code === '28P01' ? 'P1000' : 'P1001';
    const message =
      code === 'P1003'
        ? `Database \`${dbName}\` does not exist on the database server at \`${target.host}\`.`
        : code === 'P1000'
          ? `Authentication failed against database server at \`${target.host}\`.`
          : `Can't reach database server at \`${target.host}\`: ${e.message ?? String(error)}`;
    log('ERROR', message, { error_code: code });
    return 1;
  }
}

// --- JSON-RPC mode ---------------------------------------------------------------------------------------------

/**
 * `migrate dev` asks `devDiagnostic` first; the engine caches the schema it builds from the migrations on the
 * shadow database, without the Prisma schema's preview features, so partial indexes are invisible in it. Its
 * `evaluateDataLoss` and `createMigration` then compare that cached schema with the Prisma schema and re-create
 * every partial index in a new migration. `diff` from the migrations folder builds the schema with the preview
 * features, so both answers are taken from `diff`.
 */
const OVERRIDES = {
  /** @param {any} engine @param {any} input */
  async createMigration(engine, input) {
    if (input.migrationName.length > 200)
      throw new Error('The migration name is too long (200 characters at most).');
    const { stdout, exitCode } = await diffMigrationsToSchema(engine, input);
    const generatedMigrationName = `${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}_${input.migrationName}`;
    const empty = exitCode === 0;
    return {
      connectorType: 'postgresql',
      generatedMigrationName,
      migrationScript: empty && !input.draft ? null : empty ? '-- This is an empty migration.' : stdout,
      extension: 'sql',
    };
  },
  /** @param {any} engine @param {any} input */
  async evaluateDataLoss(engine, input) {
    const { exitCode } = await diffMigrationsToSchema(engine, input);
    if (exitCode === 0) return { migrationSteps: 0, warnings: [], unexecutableSteps: [] };
    const result = await engine.evaluateDataLoss(input);
    return { ...result, migrationSteps: Math.max(1, result.migrationSteps) };
  },
};

/** The SQL that takes the shadow database from the migrations folder to the Prisma schema. */
async function diffMigrationsToSchema(engine, input) {
  const result = await engine.diff({
    from: { tag: 'migrations', ...input.migrationsList },
    to: { tag: 'schemaDatamodel', ...input.schema },
    script: true,
    exitCode: true,
    filters: input.filters,
  });
  return { stdout: result.stdout ?? '', exitCode: result.exitCode };
}

/** What `migration_lock.toml` holds for this bridge's only connector. */
const POSTGRES_LOCKFILE =
  '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n';

/**
 * A project without migrations has no `migration_lock.toml` yet. The native engine knows its connector from
 * the datasource and carries on (the CLI writes the lock file with the first migration); the WASM engine
 * reads the connector from the lock file and refuses ("Could not determine the connector from the migrations
 * directory"). This bridge only speaks PostgreSQL, so a missing lock file is read as `provider = "postgresql"`
 * in every migrations list (`migrationsList`, and `diff`'s `from` / `to` of tag `migrations`).
 */
function withLockfile(params) {
  const fill = (list) =>
    list && typeof list === 'object' && list.lockfile && list.lockfile.content == null
      ? { ...list, lockfile: { ...list.lockfile, content: POSTGRES_LOCKFILE } }
      : list;
  const out = { ...params };
  if (out.migrationsList) out.migrationsList = fill(out.migrationsList);
  for (const side of ['from', 'to']) if (out[side]?.tag === 'migrations') out[side] = fill(out[side]);
  return out;
}

/** RPC method names the CLI sends whose WASM counterpart is named differently. */
const RENAMED = { getDatabaseVersion: 'version' };

function rpcError(id, error, registry) {
  if (lastPanic !== undefined) {
    const message = lastPanic;
    return {
      jsonrpc: '2.0',
      id,
      error: { code: 4466, message, data: { is_panic: true, message, meta: {}, error: { message } } },
    };
  }
  const e = /** @type {any} */ (error);
  let message = e?.message ?? String(error);
  // Errors raised in the driver adapter reach us as "External error id#N": show the adapter's own error.
  const external = /External error id#(\d+)/.exec(message);
  const original = external ? registry?.consumeError(Number(external[1]))?.error : undefined;
  if (original) message = describeAdapterError(original);
  // The engine reports user-facing errors as `{ is_panic, message, error_code, meta }`.
  message = withPgvectorHint(message);
  const data =
    typeof e === 'object' && e && 'error_code' in e
      ? { ...e, message: withPgvectorHint(String(e.message ?? '')) }
      : { is_panic: false, message, meta: e?.meta ?? {} };
  return {
    jsonrpc: '2.0',
    id,
    error: { code: 4466, message: 'An error happened. Check the data field for details.', data },
  };
}

// The pgvector advice lives in pgvector-hints.mjs (shared with `prisma-pgvector doctor`); re-exported here.
export { PGVECTOR_HINTS };

/** A driver adapter error (`{ kind, originalMessage, … }` or an Error) in one readable line. */
function describeAdapterError(error) {
  const e = /** @type {any} */ (error);
  const cause = e?.cause ?? e;
  return [
    cause?.originalMessage ?? cause?.message ?? cause?.kind ?? JSON.stringify(cause),
    cause?.originalCode ? `(${cause.originalCode})` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

async function runRpc(options) {
  const engineModule = await loadWasmEngine();
  const datamodels = options.datamodels.map(
    (file) => /** @type {[string, string]} */ ([file, readFileSync(file, 'utf8')]),
  );
  const factory = adapterFactory(options.datasource);
  const bound = bindMigrationAwareSqlAdapterFactory(/** @type {any} */ (factory));
  const engine = await engineModule.SchemaEngine.new(
    { datamodels: datamodels.length > 0 ? datamodels : undefined },
    (/** @type {string} */ line) => process.stderr.write(`${line}\n`),
    bound,
  );

  // Requests from us to the CLI (the native engine asks the CLI to `print` the diff script).
  let nextRequestId = 1;
  /** @type {Map<number, () => void>} */
  const waiting = new Map();
  const requestCli = (method, params) =>
    new Promise((resolve) => {
      const id = nextRequestId++;
      waiting.set(id, () => resolve(undefined));
      process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });

  const input = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  const pending = new Set();
  input.on('line', (line) => {
    if (!line.trim()) return;
    const task = handle(line).then((reply) => {
      if (reply) process.stdout.write(`${JSON.stringify(reply)}\n`);
    });
    pending.add(task);
    task.finally(() => pending.delete(task));
  });

  async function handle(line) {
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      return { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } };
    }
    if (message.method === undefined) {
      // a reply to one of our own requests
      waiting.get(message.id)?.();
      waiting.delete(message.id);
      return undefined;
    }
    const method = RENAMED[message.method] ?? message.method;
    const fn = /** @type {any} */ (engine)[method];
    if (typeof fn !== 'function' || method === 'free' || method === 'constructor') {
      return {
        jsonrpc: '2.0',
        id: message.id,
        error: { code: -32601, message: `Method not found: ${message.method}` },
      };
    }
    try {
      const override = OVERRIDES[method];
      const params = withLockfile(message.params ?? {});
      const result = override ? await override(engine, params) : await fn.call(engine, params);
      if (method === 'diff' && typeof result?.stdout === 'string' && result.stdout.length > 0) {
        await requestCli('print', { content: result.stdout.replace(/\n$/, '') });
        result.stdout = null;
      }
      return { jsonrpc: '2.0', id: message.id, result: result ?? null };
    } catch (error) {
      return rpcError(message.id, error, bound.errorRegistry);
    }
  }

  await new Promise((resolve) => input.once('close', resolve));
  await Promise.allSettled([...pending]);
  await factory.close();
  engine.free();
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.path) {
    // For commands that run before any prisma.config.ts exists (`prisma init` checks for an engine first):
    //   PRISMA_SCHEMA_ENGINE_BINARY="$(npx prisma-pgvector-schema-engine --path)" npx prisma init
    process.stdout.write(`${fileURLToPath(import.meta.url)}\n`);
    return 0;
  }
  if (options.version) {
    const engineModule = await loadWasmEngine();
    process.stdout.write(
      `schema-engine-cli ${engineModule.version()} (wasm, prisma-pgvector offline bridge)\n`,
    );
    return 0;
  }
  if (options.positional[0] === 'cli') return runCliCommand(options.positional[1], options.datasource);
  await runRpc(options);
  return 0;
}

// A Rust panic traps the WASM instance, sometimes outside any awaited call: report it the way the native
// engine does (an ERROR log line, exit code 101), so the CLI shows the panic message.
process.on('uncaughtException', (error) => {
  log('ERROR', lastPanic ?? (error instanceof Error ? error.message : String(error)), { is_panic: true });
  process.exit(101);
});

main().then(
  (code) => process.exit(code),
  (error) => {
    log('ERROR', error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
