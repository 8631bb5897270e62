/**
 * Checks shared by every place that takes text, dates or arbitrary values from callers (documents, ids,
 * metadata, filters, options), so that each refuses the same things in the same words, before any SQL:
 *
 * - text with a NUL character (`\u0000`): PostgreSQL `text` and `jsonb` cannot store it (SQLSTATE 22021 /
 *   22P05);
 * - text with an unpaired UTF-16 surrogate (`'a\ud800'`): it is not Unicode, and drivers silently turn it
 *   into U+FFFD, so that two different ids would write the same row;
 * - Dates outside years 1-9999 (and Invalid Date): not every path can store or read them back;
 * - values described in messages without ever calling their `toString` (a `BigInt`, a symbol, an object
 *   without a prototype or a Proxy must not turn a validation error into a `TypeError`).
 */

/** First and last year a Date may have (ISO 8601 four-digit years, what every path stores and reads back). */
export const MIN_DATE_YEAR = 1;
export const MAX_DATE_YEAR = 9999;

const LONE_SURROGATE = /[\ud800-\udfff]/u;

/**
 * What makes a string unstorable, or `undefined`: a NUL character, or an unpaired UTF-16 surrogate, with
 * the index of the first one.
 *
 * ### Examples
 * ```ts
 * textProblem('ok');        // undefined
 * textProblem('a\u0000');   // 'a NUL character (\\u0000) at index 1'
 * textProblem('a\ud800');   // 'an unpaired UTF-16 surrogate at index 1'
 * textProblem('😀');        // undefined (a surrogate pair)
 * ```
 */
const WELL_FORMED = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function';

export function textProblem(text: string): string | undefined {
  // The common case, natively: well-formed UTF-16 without NUL (every filter key and value is checked).
  if (
    WELL_FORMED &&
    text.indexOf('\u0000') < 0 &&
    (text as unknown as { isWellFormed(): boolean }).isWellFormed()
  ) {
    return undefined;
  }
  const nul = text.indexOf('\u0000');
  const lone = LONE_SURROGATE.exec(text);
  if (nul < 0 && lone === null) return undefined;
  if (lone === null || (nul >= 0 && nul < lone.index)) return `a NUL character (\\u0000) at index ${nul}`;
  return `an unpaired UTF-16 surrogate at index ${lone.index}`;
}

/**
 * Why a value is not a Date every path can store, or `undefined`.
 *
 * ### Examples
 * ```ts
 * dateProblem(new Date());                      // undefined
 * dateProblem(new Date('nope'));                // 'an Invalid Date'
 * dateProblem(new Date(Date.UTC(10000, 0, 1))); // 'a Date in year 10000'
 * ```
 */
export function dateProblem(value: unknown): string | undefined {
  if (!(value instanceof Date)) return describeValue(value);
  const time = value.getTime();
  if (Number.isNaN(time)) return 'an Invalid Date';
  const year = value.getUTCFullYear();
  if (year < MIN_DATE_YEAR || year > MAX_DATE_YEAR) return `a Date in year ${year}`;
  return undefined;
}

/**
 * A short description of any value for a message: its kind, never its whole content; it never throws
 * (no `toString`, `valueOf` or `Symbol.toPrimitive` is called; a Proxy's traps may fail).
 *
 * ### Examples
 * ```ts
 * describeValue([1, 2]);              // 'an array'
 * describeValue(1n);                  // 'a bigint'
 * describeValue(Object.create(null)); // 'an object'
 * describeValue(new Map());           // 'an object (Map)'
 * ```
 */
export function describeValue(value: unknown): string {
  try {
    if (value === null) return 'null';
    switch (typeof value) {
      case 'undefined':
        return 'undefined';
      case 'object':
        break;
      default:
        return `a ${typeof value}`;
    }
    if (Array.isArray(value)) return 'an array';
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an Invalid Date' : 'a Date';
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === null || proto === Object.prototype) return 'an object';
    const ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
    const name =
      typeof ctor === 'function' ? Object.getOwnPropertyDescriptor(ctor, 'name')?.value : undefined;
    return typeof name === 'string' && name !== '' && name !== 'Object'
      ? `an object (${name.slice(0, 40)})`
      : 'an object';
  } catch {
    return 'an object';
  }
}

/**
 * A string for a message: quoted, shortened to `max` characters, NULs and lone surrogates escaped.
 *
 * ### Examples
 * ```ts
 * quoted('a\ud800'); // '"a\\ud800"'
 * ```
 */
export function quoted(text: string, max = 40): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
