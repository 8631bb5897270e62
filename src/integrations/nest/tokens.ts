/**
 * Injection tokens of `prisma-pgvector/nest`. Strings, not symbols: the same token whether the app loads the
 * ESM or the CommonJS build of this package.
 */

import { Inject } from '@nestjs/common';

/** The token of the default store: `@Inject(VECTOR_STORE)` is what {@link InjectVectorStore} does. */
export const VECTOR_STORE = 'prisma-pgvector:VectorStore';

/** The token of the options given to `PgVectorModule` (or returned by its factory). */
export const PGVECTOR_MODULE_OPTIONS = 'prisma-pgvector:ModuleOptions';

/**
 * The token of the store registered under `name` (`PgVectorModule.forRoot({ name, … })`), or of the default
 * store.
 *
 * ### Examples
 * ```ts
 * vectorStoreToken(); // 'prisma-pgvector:VectorStore'
 * vectorStoreToken('faq'); // 'prisma-pgvector:VectorStore:faq'
 * ```
 */
export function vectorStoreToken(name?: string): string {
  return name === undefined ? VECTOR_STORE : `${VECTOR_STORE}:${name}`;
}

/** The token of the options of the store registered under `name`. */
export function moduleOptionsToken(name?: string): string {
  return name === undefined ? PGVECTOR_MODULE_OPTIONS : `${PGVECTOR_MODULE_OPTIONS}:${name}`;
}

/**
 * Injects the store of `PgVectorModule` (the one registered under `name`, if given) into a constructor
 * parameter or a property.
 *
 * ### Examples
 * ```ts
 * @Controller('search')
 * export class SearchController {
 *   constructor(@InjectVectorStore() private readonly store: VectorStore<Meta>) {}
 * }
 * ```
 */
export function InjectVectorStore(name?: string): PropertyDecorator & ParameterDecorator {
  return Inject(vectorStoreToken(name));
}
