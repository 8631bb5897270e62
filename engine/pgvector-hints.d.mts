/** How to install pgvector on the server, one line per platform (OS packages, Docker, managed providers, embedded). */
export declare const PGVECTOR_INSTALL_STEPS: string;
/** Who may run `CREATE EXTENSION vector` when the application's user may not (a clause, no final period). */
export declare const PGVECTOR_PERMISSION_ADVICE: string;
/** Database errors that mean "pgvector is not there", with what to do about each (for a failed migration). */
export declare const PGVECTOR_HINTS: readonly { readonly pattern: RegExp; readonly hint: string }[];
/** Adds our explanation to a database error message that means pgvector is missing; others are returned unchanged. */
export declare function pgvectorHint(message: string): string;
