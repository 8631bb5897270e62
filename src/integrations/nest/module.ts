/**
 * `PgVectorModule`: the vector store as a NestJS provider, over the Prisma Client (and `pg.Pool`) the app
 * already has — this module never creates a client, a pool or a connection of its own, and closes none
 * (the app's Prisma service does, in its own `onModuleDestroy`).
 */

import type { DynamicModule, FactoryProvider, ModuleMetadata, Provider } from '@nestjs/common';
import { Module } from '@nestjs/common';
import {
  createVectorStore,
  type StorePool,
  type VectorStoreClient,
  type VectorStoreConfig,
} from '../../index.js';
import { moduleOptionsToken, vectorStoreToken } from './tokens.js';

type VectorType = 'vector' | 'halfvec' | 'sparsevec' | 'bit';

/** What the store is made of: the app's Prisma Client, its pool, the store's configuration. */
export interface PgVectorModuleOptions<T extends VectorType = VectorType>
  extends Omit<VectorStoreConfig<T>, 'pool'> {
  /** The app's Prisma Client, e.g. its `PrismaService` (a class extending the generated `PrismaClient`). */
  readonly client: VectorStoreClient;
  /** The `pg.Pool` its `@prisma/adapter-pg` adapter was built with: COPY loads and direct searches. */
  readonly pool?: StorePool;
}

/** Options of {@link PgVectorModule.forRootAsync}. */
export interface PgVectorModuleAsyncOptions<T extends VectorType = VectorType> {
  /** Modules whose providers the factory needs (e.g. the app's `PrismaModule`). */
  readonly imports?: ModuleMetadata['imports'];
  /** Providers passed to the factory, in order (e.g. `[PrismaService]`). */
  readonly inject?: FactoryProvider['inject'];
  /** Returns the options, from the injected providers. */
  readonly useFactory: (...args: never[]) => PgVectorModuleOptions<T> | Promise<PgVectorModuleOptions<T>>;
  /** Registers the store under this name ({@link vectorStoreToken}); default: the default store. */
  readonly name?: string;
  /** Makes the store injectable in every module without importing this one. Default false. */
  readonly isGlobal?: boolean;
}

function storeProvider(name: string | undefined): Provider {
  return {
    provide: vectorStoreToken(name),
    useFactory: (options: PgVectorModuleOptions) => {
      const { client, pool, ...config } = options;
      if (client === undefined || client === null) {
        throw new TypeError('PgVectorModule: options.client must be the app’s Prisma Client');
      }
      return createVectorStore(client, { ...config, ...(pool ? { pool } : {}) } as VectorStoreConfig);
    },
    inject: [moduleOptionsToken(name)],
  };
}

/**
 * The dynamic module of the vector store. Inject the store with `@InjectVectorStore()` (or
 * `@Inject(VECTOR_STORE)`); map its errors to HTTP with `PgVectorExceptionFilter`.
 *
 * ### Examples
 * ```ts
 * @Module({
 *   imports: [
 *     PgVectorModule.forRootAsync({
 *       imports: [PrismaModule],
 *       inject: [PrismaService],
 *       useFactory: (prisma: PrismaService) => ({ client: prisma, pool: prisma.pool }),
 *     }),
 *   ],
 *   controllers: [SearchController],
 *   providers: [{ provide: APP_FILTER, useClass: PgVectorExceptionFilter }],
 * })
 * export class AppModule {}
 * ```
 */
// biome-ignore lint/complexity/noStaticOnlyClass: Nest's dynamic modules are classes with static factories
export class PgVectorModule {
  /** The store over a client that exists when the module is declared. */
  static forRoot<T extends VectorType = VectorType>(
    options: PgVectorModuleOptions<T> & { readonly name?: string; readonly isGlobal?: boolean },
  ): DynamicModule {
    const { name, isGlobal, ...storeOptions } = options;
    return {
      module: PgVectorModule,
      global: isGlobal ?? false,
      providers: [{ provide: moduleOptionsToken(name), useValue: storeOptions }, storeProvider(name)],
      exports: [vectorStoreToken(name)],
    };
  }

  /** The store over providers of the app (its Prisma service, its configuration), through a factory. */
  static forRootAsync<T extends VectorType = VectorType>(
    options: PgVectorModuleAsyncOptions<T>,
  ): DynamicModule {
    return {
      module: PgVectorModule,
      global: options.isGlobal ?? false,
      imports: options.imports ?? [],
      providers: [
        {
          provide: moduleOptionsToken(options.name),
          useFactory: options.useFactory as (...args: unknown[]) => unknown,
          inject: options.inject ?? [],
        },
        storeProvider(options.name),
      ],
      exports: [vectorStoreToken(options.name)],
    };
  }
}

// The decorator, called as a function: this package is compiled without `experimentalDecorators`.
Module({})(PgVectorModule);
