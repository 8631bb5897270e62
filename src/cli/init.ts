import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { METRIC_NAMES, VECTOR_TYPES, type VectorType } from '../core/metric.js';
import {
  applyInitPlan,
  formatInitPlan,
  type InitIndexMethod,
  type InitOptions,
  type InitPartialIndex,
  planInit,
} from '../schema/init.js';
import { ID_TYPES, type IdType } from '../store/config.js';
import type { Command } from './command.js';
import { intOption, metricOption, runCommand, UsageError, wantsJson } from './index-options.js';

const help = `Usage: prisma-pgvector init [options]

Sets a vector store up in an existing Prisma 7 project (found from prisma.config.ts, or --schema):
  - the model (default Document → table "documents"), or with --model an embedding column (and the
    metadata / createdAt fields the store needs) on a model of yours;
  - the generator's previewFeatures = ["partialIndexes"] when --partial is given;
  - timestamped hand-written migrations: CREATE EXTENSION vector + the table (or ALTER TABLE), then one
    per vector index, each mirrored in the model by @@index([embedding], map: "<name>") so that
    \`prisma migrate dev\` never drops it;
  - migration_lock.toml (provider = "postgresql") when missing, .data/ in .gitignore,
    useOfflineSchemaEngine() in prisma.config.ts with --offline-engine.
A second run changes nothing. Then: npx prisma migrate deploy.

Asks for the options when stdin is a terminal (unless --yes); otherwise takes the flags and defaults.

Options:
  --model NAME             model (default Document); an existing model gets the column
  --table NAME             table of a new model (default: model in snake case + s)
  --column NAME            the vector field/column (default embedding)
  --content-field NAME     existing model: its String field with the text (default content)
  --dimensions N           default 1536 (the embedding model's size)
  --vector-type T          vector | halfvec | sparsevec | bit (default vector)
  --metric M               ${METRIC_NAMES.join(' | ')} (default cosine; hamming for bit)
  --index M                hnsw | ivfflat | none (default hnsw)
  --m N --ef-construction N   HNSW parameters (default 16, 64)
  --lists N                IVFFlat lists (default 100)
  --partial KEY=VALUE      a partial index for the filter { KEY: 'VALUE' } (repeatable)
  --id-type T              ${ID_TYPES.join(' | ')} for a new model (default text)
  --offline-engine         call useOfflineSchemaEngine() in prisma.config.ts (the Prisma CLI offline)
  --prisma                 create prisma.config.ts and prisma/schema.prisma when the project has none
  --schema FILE            the schema file (default: from prisma.config.ts, else prisma/schema.prisma)
  --cwd DIR                the project directory (default: the current one)
  --dry-run                print the plan (files and diffs); write nothing
  --yes, -y                no questions: flags and defaults
  --json                   machine-readable plan
Exit codes: 0 done (or nothing to do), 1 refused, 2 bad options.`;

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${name} must be ${allowed.join(', ')}; got "${value}"`);
}

function partialOption(values: readonly string[] | undefined): InitPartialIndex[] | undefined {
  if (values === undefined) return undefined;
  return values.map((v) => {
    const at = v.indexOf('=');
    if (at <= 0) throw new UsageError(`--partial must be KEY=VALUE (e.g. type=article); got "${v}"`);
    return { key: v.slice(0, at), value: v.slice(at + 1) };
  });
}

/** Asks for every option the flags left open (interactive terminals only). */
async function ask(options: InitOptions): Promise<InitOptions> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  // Lines are read through the iterator, which queues them: answers typed (or pasted) ahead are kept.
  const lines = rl[Symbol.asyncIterator]();
  try {
    const question = async (text: string, fallback: string): Promise<string> => {
      process.stdout.write(`${text} (${fallback}): `);
      const next = await lines.next();
      const answer = next.done ? '' : String(next.value).trim();
      return answer === '' ? fallback : answer;
    };
    const model = options.model ?? (await question('Model', 'Document'));
    const dimensions = options.dimensions ?? Number(await question('Dimensions of your embeddings', '1536'));
    const vectorType =
      options.vectorType ??
      oneOf('vector-type', await question(`Vector type: ${VECTOR_TYPES.join(', ')}`, 'vector'), VECTOR_TYPES);
    const metric =
      options.metric ??
      metricOption(await question('Metric', vectorType === 'bit' ? 'hamming' : 'cosine'), 'cosine');
    const index =
      options.index ??
      oneOf('index', await question('Index: hnsw, ivfflat, none', 'hnsw'), [
        'hnsw',
        'ivfflat',
        'none',
      ] as const);
    const partial =
      options.partial ??
      (index === 'none'
        ? []
        : partialOption(
            (await question('Partial indexes for filters, KEY=VALUE separated by spaces', 'none'))
              .split(/\s+/)
              .filter((w) => w !== '' && w !== 'none'),
          ));
    const idType =
      options.idType ?? oneOf('id-type', await question(`Id type: ${ID_TYPES.join(', ')}`, 'text'), ID_TYPES);
    const offlineEngine =
      options.offlineEngine ||
      /^y/i.test(await question('Use the offline schema engine in prisma.config.ts? y/n', 'n'));
    return { ...options, model, dimensions, vectorType, metric, index, partial, idType, offlineEngine };
  } finally {
    rl.close();
  }
}

export const initCommand: Command = {
  name: 'init',
  summary: 'set the vector model, its migrations and indexes up in an existing Prisma 7 project',
  help,
  run: (argv) =>
    runCommand('init', wantsJson(argv), async () => {
      const { values } = parseArgs({
        args: [...argv],
        options: {
          model: { type: 'string' },
          table: { type: 'string' },
          column: { type: 'string' },
          'content-field': { type: 'string' },
          dimensions: { type: 'string' },
          'vector-type': { type: 'string' },
          metric: { type: 'string' },
          index: { type: 'string' },
          m: { type: 'string' },
          'ef-construction': { type: 'string' },
          lists: { type: 'string' },
          partial: { type: 'string', multiple: true },
          'id-type': { type: 'string' },
          'offline-engine': { type: 'boolean', default: false },
          prisma: { type: 'boolean', default: false },
          schema: { type: 'string' },
          cwd: { type: 'string' },
          'dry-run': { type: 'boolean', default: false },
          yes: { type: 'boolean', short: 'y', default: false },
          json: { type: 'boolean', default: false },
        },
        strict: true,
      });
      let options: InitOptions = {
        cwd: values.cwd,
        schema: values.schema,
        prisma: values.prisma,
        model: values.model,
        table: values.table,
        column: values.column,
        contentField: values['content-field'],
        dimensions: intOption('dimensions', values.dimensions, 1, 1_000_000_000),
        vectorType: oneOf<VectorType>('vector-type', values['vector-type'], VECTOR_TYPES),
        metric: values.metric === undefined ? undefined : metricOption(values.metric, 'cosine'),
        index: oneOf<InitIndexMethod>('index', values.index, ['hnsw', 'ivfflat', 'none']),
        m: intOption('m', values.m, 0, 1_000_000),
        efConstruction: intOption('ef-construction', values['ef-construction'], 0, 1_000_000),
        lists: intOption('lists', values.lists, 0, 1_000_000),
        partial: partialOption(values.partial),
        idType: oneOf<IdType>('id-type', values['id-type'], ID_TYPES),
        offlineEngine: values['offline-engine'],
      };
      if (process.stdin.isTTY && !values.yes && !values.json) options = await ask(options);
      const plan = await planInit(options);
      const dryRun = values['dry-run'];
      if (!dryRun) applyInitPlan(plan);
      if (values.json) {
        console.log(
          JSON.stringify(
            {
              ok: true,
              dryRun,
              changed: plan.changes.length > 0,
              files: plan.changes.map((c) => ({ path: c.path, kind: c.kind })),
              steps: plan.steps,
              warnings: plan.warnings,
              storeConfig: plan.storeConfig,
            },
            null,
            2,
          ),
        );
      } else console.log(formatInitPlan(plan, { dryRun, diffs: dryRun }));
      return 0;
    }),
};
