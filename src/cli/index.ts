#!/usr/bin/env node
import { adviseCommand } from './advise.js';
import { buildIndexCommand } from './build-index.js';
import type { Command } from './command.js';
import { dbCommand } from './db.js';
import { dbNativeCommand } from './db-native.js';
import { doctorCommand } from './doctor.js';
import { driftCommand } from './drift.js';
import { initCommand } from './init.js';
import { maintainCommand } from './maintain.js';
import { migrationCommand } from './migration-index.js';
import { tuneCommand } from './tune.js';

const commands: readonly Command[] = [
  initCommand,
  dbCommand,
  dbNativeCommand,
  driftCommand,
  adviseCommand,
  buildIndexCommand,
  migrationCommand,
  maintainCommand,
  doctorCommand,
  tuneCommand,
];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: prisma-pgvector <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `prisma-pgvector <command> --help` for the options of a command.',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 1 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`Unknown command: ${name}\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
