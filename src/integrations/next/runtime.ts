/**
 * The store talks to PostgreSQL through `pg` (TCP sockets, Node's crypto): it runs on Next.js's Node.js
 * runtime only. On the Edge runtime this door says so the moment it is loaded — this module imports nothing
 * and is the first one `prisma-pgvector/next` evaluates — instead of a `Native module not found` deep in a
 * bundle.
 */

/** What the Edge runtime error says to do. */
export const NODE_RUNTIME_FIX =
  "add `export const runtime = 'nodejs'` to the route (or page) that uses the vector store, and keep it out of middleware";

type RuntimeScope = { readonly EdgeRuntime?: unknown; readonly process?: unknown };

/** True on Next.js's Edge runtime (`EdgeRuntime` is defined), or any runtime that is not Node.js. */
export function isEdgeRuntime(scope: RuntimeScope = globalThis): boolean {
  if (scope.EdgeRuntime !== undefined) return true;
  const versions = (scope.process as { versions?: { node?: unknown } } | undefined)?.versions;
  return typeof versions?.node !== 'string';
}

/**
 * Throws on the Edge runtime, naming the fix ({@link NODE_RUNTIME_FIX}). Runs when `prisma-pgvector/next`
 * is loaded; call it yourself in modules of your own that must not run there.
 *
 * ### Examples
 * ```ts
 * assertNodeRuntime(); // nothing on Node.js
 * ```
 */
export function assertNodeRuntime(scope: RuntimeScope = globalThis): void {
  if (isEdgeRuntime(scope)) {
    throw new Error(
      'prisma-pgvector runs on the Node.js runtime only (it connects with `pg`), and this is the Edge runtime. ' +
        `Fix: ${NODE_RUNTIME_FIX}.`,
    );
  }
}

assertNodeRuntime();
