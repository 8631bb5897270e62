/** Option snapshots and the argument errors of the store's methods, shared by its job modules. */

import { PgVectorError } from '../core/errors.js';
import { describeValue, quoted } from '../core/input-checks.js';
import { isPlainObject } from './input.js';

export function argumentError(message: string, fix?: string): PgVectorError {
  return new PgVectorError('INVALID_ARGUMENT', message, fix === undefined ? {} : { fix });
}

/**
 * A snapshot of an options object: its own enumerable properties, each read once (a getter cannot pass
 * validation with one value and be used with another). Refuses anything but a plain object.
 */
export function optionsOf(value: unknown, what: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw argumentError(`${what} must be an object, got ${describeValue(value)}`);
  return Object.fromEntries(Object.entries(value));
}

export function unknownOption(
  options: Record<string, unknown>,
  known: readonly string[],
): string | undefined {
  return Object.keys(options).find((k) => !known.includes(k));
}

export function shownKey(key: string): string {
  return /^[\w$]{1,40}$/.test(key) ? `'${key}'` : quoted(key);
}

/** A number option, or `undefined`; anything else is refused naming what it got (never a TypeError). */
export function numberOption(value: unknown, name: string, what = 'a number'): number | undefined {
  if (value === undefined || typeof value === 'number') return value;
  throw argumentError(`${name} must be ${what}, got ${describeValue(value)}`);
}

export function shownValue(value: unknown): string {
  if (typeof value === 'string') return quoted(value);
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : describeValue(value);
}
