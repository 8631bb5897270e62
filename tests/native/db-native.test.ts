import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { describeOnly } from '../support/engines.js';

// `prisma-pgvector db-native` as scripts and people run it: a real process, its stdout, stderr and exit code.
const repo = fileURLToPath(new URL('../..', import.meta.url));
const canRun =
  process.platform === 'linux' &&
  process.getuid?.() === 0 &&
  ['/usr/sbin/debootstrap', '/usr/bin/debootstrap', '/sbin/debootstrap'].some((path) => existsSync(path));

/** uid and gid of `nobody`, who must be able to read this checkout to run the CLI as a user other than root. */
const NOBODY = { uid: 65534, gid: 65534 };
// A checkout under a folder only root may enter (a `mktemp -d` one) cannot be run by nobody at all, which is
// not what the test is about: every folder above it must let others in, and the CLI must start as nobody.
// Decided when the test runs (`context.skip`): `it.skipIf` ran the test there anyway.
const othersCanEnter = (dir: string): boolean =>
  (statSync(dir).mode & 0o001) !== 0 && (dirname(dir) === dir || othersCanEnter(dirname(dir)));
const nobodyCanRead =
  canRun &&
  othersCanEnter(repo) &&
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'db-native', '--help'], {
    cwd: repo,
    ...NOBODY,
    stdio: 'ignore',
  }).status === 0;

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], options: { uid?: number; gid?: number } = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'db-native', ...args], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...options,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function count(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>('SELECT 1 AS n');
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

describeOnly(
  'native',
  'tests the db-native command itself (root + debootstrap), once: in the native pass',
  'db-native command',
  () => {
    describe.skipIf(!canRun)(
      'start / status / stop, and the foreground server (needs Linux, root and debootstrap)',
      () => {
        const scratch = mkdtempSync(join(tmpdir(), 'ppv-db-native-'));
        const state = join(scratch, 'state.json');
        afterAll(async () => {
          await cli(['stop', '--state', state]);
          rmSync(scratch, { recursive: true, force: true });
        });

        it('start prints only DATABASE_URL on stdout, is idempotent; status and stop follow the state file', async () => {
          const started = await cli(['start', '--state', state]);
          expect(started.code, started.stderr).toBe(0);
          const url = /^DATABASE_URL=(postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres)\n$/.exec(
            started.stdout,
          )?.[1];
          expect(url, started.stdout).toBeDefined();
          expect(await count(url!)).toBe(1);
          const { dataDir } = JSON.parse(readFileSync(state, 'utf8')) as { dataDir: string };
          expect(existsSync(dataDir)).toBe(true);

          const again = await cli(['start', '--state', state]);
          expect([again.code, again.stdout]).toEqual([0, `DATABASE_URL=${url}\n`]);
          expect(again.stderr).toMatch(/already runs/);
          const status = await cli(['status', '--state', state]);
          expect([status.code, status.stdout]).toEqual([0, `DATABASE_URL=${url}\n`]);

          const stopped = await cli(['stop', '--state', state]);
          expect(stopped.code, stopped.stderr).toBe(0);
          expect(existsSync(state)).toBe(false);
          expect(existsSync(dirname(dataDir))).toBe(false);
          expect((await cli(['status', '--state', state])).code).toBe(3);
          expect((await cli(['stop', '--state', state])).code).toBe(0); // nothing to stop
        });

        it('in the foreground, SIGTERM stops the server and removes its cluster', async () => {
          const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'db-native'], {
            cwd: repo,
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (chunk: Buffer) => {
            stderr += chunk.toString();
          });
          const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
          const url = await new Promise<string>((resolve, reject) => {
            let stdout = '';
            child.stdout.on('data', (chunk: Buffer) => {
              stdout += chunk.toString();
              const match = /^DATABASE_URL=(\S+)\n/.exec(stdout);
              if (match?.[1]) resolve(match[1]);
            });
            child.once('close', () => reject(new Error(`exited before DATABASE_URL: ${stderr}`)));
          });
          expect(await count(url)).toBe(1);
          const dataDir = /Data: (\S+);/.exec(stderr)?.[1];
          expect(dataDir && existsSync(dataDir)).toBe(true);
          child.kill('SIGTERM');
          expect(await exited).toBe(0);
          expect(stderr).toMatch(/Received SIGTERM, stopping…\nStopped; the cluster was removed\./);
          expect(existsSync(dirname(dataDir!))).toBe(false);
        });

        it('as a user other than root: one clear error, no stack, exit code 1 (skipped when user nobody cannot read this checkout)', async (context) => {
          if (!nobodyCanRead) context.skip('user nobody cannot enter this checkout');
          const nobody = await cli(['start', '--state', state], NOBODY);
          expect(nobody.code).toBe(1);
          expect(nobody.stdout).toBe('');
          expect(nobody.stderr).toMatch(/^prisma-pgvector db-native: The native server needs root/);
          expect(nobody.stderr).toMatch(/\nFix: Run as root/);
          expect(nobody.stderr).not.toMatch(/\n\s+at /);
        });

        it('a bad option: one line and a pointer to --help, exit code 2', async () => {
          const bad = await cli(['--port', 'x']);
          expect(bad.code).toBe(2);
          expect(bad.stdout).toBe('');
          expect(bad.stderr).toBe(
            'prisma-pgvector db-native: --port must be an integer from 0 to 65535, got "x".\n' +
              'Run `prisma-pgvector db-native --help` for the options.\n',
          );
        });
      },
    );
  },
);
