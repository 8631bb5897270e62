/** One CLI command: `prisma-pgvector <name> [...args]`. Each command lives in its own file. */
export interface Command {
  readonly name: string;
  /** One line for `prisma-pgvector --help`. */
  readonly summary: string;
  /** Full help text printed by `prisma-pgvector <name> --help`. */
  readonly help: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: readonly string[]): Promise<number>;
}
