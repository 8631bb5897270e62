/**
 * The doctor's rules as pure functions, for the cases no embedded database can show: pgvector older than
 * 0.8 (PGlite ships 0.8.7), indexes larger than shared_buffers (fixed at server start), option parsing.
 */
import { describe, expect, it } from 'vitest';
import { isPgVectorError } from '../../src/core/errors.js';
import { assessEfSearch } from '../../src/ops/checks/ef-search.js';
import { assessExtension } from '../../src/ops/checks/extension.js';
import { assessIndexSizes } from '../../src/ops/checks/index-size.js';
import { assessIvfflatLists } from '../../src/ops/checks/ivfflat-lists.js';
import { assessTableStats } from '../../src/ops/checks/stale-stats.js';
import {
  DOCTOR_CHECK_IDS,
  DOCTOR_CHECKS,
  type DoctorReport,
  doctorExitCode,
  formatDoctorReport,
  parseFilterArgument,
  resolveDoctorOptions,
} from '../../src/ops/doctor.js';

const advice = { installSteps: '  - apt install postgresql-<major>-pgvector', permission: 'ask an admin' };
const MB = 1024 * 1024;

describe('extension rule', () => {
  it('fails below 0.5, warns below 0.8 with ALTER EXTENSION when the server has newer, passes at 0.8+', () => {
    const old = assessExtension(
      { available: true, defaultVersion: '0.8.7', installedVersion: '0.4.4' },
      advice,
    );
    expect(old).toMatchObject([
      { status: 'fail', message: expect.stringMatching(/HNSW indexes need 0\.5\.0/) },
    ]);
    const noIterative = assessExtension(
      { available: true, defaultVersion: '0.8.7', installedVersion: '0.7.4' },
      advice,
    );
    expect(noIterative).toMatchObject([
      {
        status: 'warn',
        message: expect.stringMatching(/iterative index scans need 0\.8\.0/),
        fix: expect.stringMatching(/^ALTER EXTENSION vector UPDATE;/),
      },
    ]);
    const serverOld = assessExtension(
      { available: true, defaultVersion: '0.7.4', installedVersion: '0.7.4' },
      advice,
    );
    expect(serverOld[0]?.fix).toMatch(/upgrade the pgvector package on the server to 0\.8\.0/);
    expect(
      assessExtension({ available: true, defaultVersion: '0.10.0', installedVersion: '0.8.0' }, advice),
    ).toMatchObject([
      {
        status: 'pass',
        message: 'pgvector 0.8.0 is installed (0.10.0 is on the server: ALTER EXTENSION vector UPDATE)',
      },
    ]);
  });
});

describe('index-size rule', () => {
  it('warns when an index or all of them exceed shared_buffers', () => {
    const one = assessIndexSizes(
      [{ label: 'public.big', sql: '"public"."big"', bytes: 200 * MB }],
      512 * MB,
      128 * MB,
    );
    expect(one).toMatchObject([
      { status: 'warn', message: expect.stringMatching(/more than shared_buffers \(128 MB\)/) },
    ]);
    expect(one[0]?.fix).toMatch(/raise shared_buffers to at least 250MB/);
    const total = assessIndexSizes(
      [
        { label: 'public.a', sql: '"public"."a"', bytes: 100 * MB },
        { label: 'public.b', sql: '"public"."b"', bytes: 100 * MB },
      ],
      512 * MB,
      128 * MB,
    );
    expect(total.map((f) => f.status)).toEqual(['pass', 'pass', 'warn']);
    expect(total[2]?.message).toMatch(/total 200 MB, more than shared_buffers/);
  });
});

describe('stats, ef_search and IVFFlat rules', () => {
  it('uses autovacuum thresholds for stale statistics and dead rows', () => {
    const analyzed = new Date();
    expect(
      assessTableStats({ liveRows: 1000, deadRows: 0, modifiedSinceAnalyze: 150, lastAnalyzed: analyzed })
        .status,
    ).toBe('pass');
    expect(
      assessTableStats({ liveRows: 1000, deadRows: 0, modifiedSinceAnalyze: 151, lastAnalyzed: analyzed })
        .status,
    ).toBe('warn');
    expect(
      assessTableStats({ liveRows: 1000, deadRows: 251, modifiedSinceAnalyze: 0, lastAnalyzed: analyzed })
        .status,
    ).toBe('warn');
    expect(
      assessTableStats({ liveRows: 0, deadRows: 0, modifiedSinceAnalyze: 0, lastAnalyzed: null }).status,
    ).toBe('pass');
    expect(
      assessTableStats({ liveRows: 10, deadRows: 0, modifiedSinceAnalyze: 10, lastAnalyzed: null }).status,
    ).toBe('fail');
  });

  it('ef_search: below k fails, the default or a session-only value warns', () => {
    expect(assessEfSearch({ value: 40, source: 'default' }, 10)).toBe('warn');
    expect(assessEfSearch({ value: 80, source: 'session' }, 10)).toBe('warn');
    expect(assessEfSearch({ value: 40, source: 'server configuration' }, 10)).toBe('pass');
    expect(assessEfSearch({ value: 20, source: 'application' }, 50)).toBe('fail');
  });

  it('IVFFlat: fewer rows than lists, fewer than 50 per list, enough', () => {
    expect(assessIvfflatLists(100, 80).reason).toBe('fewer-rows-than-lists');
    expect(assessIvfflatLists(100, 4_999).reason).toBe('too-few-rows-per-list');
    expect(assessIvfflatLists(100, 5_000)).toEqual({ status: 'pass', reason: 'ok' });
  });
});

describe('options, exit code and format', () => {
  it('fills in defaults and rejects bad values with INVALID_CONFIG', () => {
    expect(resolveDoctorOptions()).toMatchObject({
      metric: 'cosine',
      k: 10,
      largeTableRows: 10_000,
      commonFilters: [],
    });
    for (const bad of [
      { k: 0 },
      { metric: 'dot' },
      { largeTableRows: 1.5 },
      { commonFilters: [{ table: 't', predicate: ' ' }] },
    ]) {
      let error: unknown;
      try {
        resolveDoctorOptions(bad as never);
      } catch (e) {
        error = e;
      }
      expect(isPgVectorError(error, 'INVALID_CONFIG')).toBe(true);
    }
    expect(parseFilterArgument("app.documents:metadata->>'type' = 'a:b'")).toEqual({
      table: 'app.documents',
      predicate: "metadata->>'type' = 'a:b'",
    });
    expect(() => parseFilterArgument('no predicate')).toThrow(/table:predicate/);
  });

  it('has one check per stable id, in order; exit code 1 on fail, or on warn with strict', () => {
    expect(DOCTOR_CHECKS.map((c) => c.id)).toEqual([...DOCTOR_CHECK_IDS]);
    const report: DoctorReport = {
      checks: [
        {
          id: 'extension',
          title: 't',
          status: 'pass',
          message: 'vector: pgvector 0.8.7 is installed',
          findings: [],
        },
        {
          id: 'ef-search',
          title: 't',
          status: 'warn',
          message: 'never tuned',
          fix: 'npx prisma-pgvector tune\n-- or',
          findings: [],
        },
      ],
      summary: {
        pass: 1,
        warn: 1,
        fail: 0,
        ok: true,
        serverVersionNum: 170002,
        pgvectorVersion: '0.8.7',
        tables: ['public.documents'],
      },
    };
    expect(doctorExitCode(report)).toBe(0);
    expect(doctorExitCode(report, { strict: true })).toBe(1);
    expect(formatDoctorReport(report)).toBe(
      [
        'PASS  extension  vector: pgvector 0.8.7 is installed',
        'WARN  ef-search  never tuned',
        '                 fix: npx prisma-pgvector tune',
        '                      -- or',
        '',
        '1 passed, 1 warned, 0 failed (PostgreSQL 17, pgvector 0.8.7, 1 table)',
      ].join('\n'),
    );
  });
});
