// Builds dist/esm (ESM, the source's own format) and dist/cjs (CommonJS, for NestJS apps that compile to it),
// each with type declarations. dist/cjs gets a package.json that marks its .js files as CommonJS.
//
// Both builds go to dist-next-<pid>/ first (same depth as dist/, so source maps stay valid) and replace
// dist/esm and dist/cjs only when both succeeded: a failed build leaves the previous dist/ in place for the
// tests and processes that are using it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const next = `dist-next-${process.pid}`;
rmSync(next, { recursive: true, force: true });
try {
  for (const [project, format] of [
    ['tsconfig.build.json', 'esm'],
    ['tsconfig.cjs.json', 'cjs'],
  ]) {
    execFileSync(process.execPath, [tsc, '-p', project, '--outDir', `${next}/${format}`], {
      stdio: 'inherit',
    });
  }
  mkdirSync(`${next}/cjs`, { recursive: true });
  writeFileSync(`${next}/cjs/package.json`, `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
  mkdirSync('dist', { recursive: true });
  for (const format of ['esm', 'cjs']) {
    rmSync(`dist/${format}`, { recursive: true, force: true });
    renameSync(`${next}/${format}`, `dist/${format}`);
  }
} finally {
  rmSync(next, { recursive: true, force: true });
}
console.log('built dist/esm and dist/cjs');
