/**
 * What compiled filter SQL may hold, checked from its text alone: the proof that no caller text reaches the
 * SQL except as a key literal of allowed characters (src/core/filter-expressions.ts, `LITERAL_KEY`).
 */
import { LITERAL_KEY } from '../../src/core/filter-expressions.js';

export interface SqlTextRules {
  /** Quoted identifiers the compiler was given (`"metadata"`, `"created_at"`). */
  readonly identifiers: readonly string[];
  /** Literals from configuration (partial-index predicates), as they appear: `'article'`. */
  readonly configured?: readonly string[];
  /** The filter's keys: every key literal must be one of them (or a path of their segments). */
  readonly keys?: readonly string[];
}

const TYPE_NAMES = new Set(['number', 'string', 'boolean', 'object', 'array', 'null']);

/** Every token the compiler writes outside literals, identifiers and `$n` parameters. */
const VOCABULARY = new Set([
  ...['(', ')', '@>', '->', '->>', '#>', '#>>', '=', '>', '>=', '<', '<='],
  ...['::jsonb', '::jsonb[]', '::text', '::text[]', '::numeric'],
  ...[
    'ANY',
    'IS',
    'NOT',
    'NULL',
    'TRUE',
    'FALSE',
    'AND',
    'OR',
    'CASE',
    'WHEN',
    'THEN',
    'END',
    'jsonb_typeof',
    'IN',
    ',',
  ],
]);

/**
 * The problems of a compiled filter's text (empty when it is sound): every `'…'` literal is a typeof name,
 * a configured predicate's text, or a key literal (`'k'`, `'{a,b}'`) of LITERAL_KEY characters naming a key
 * of the filter; outside literals there is no quote, no `;`, no backslash, no comment, and every token is
 * one the compiler writes (so no caller text can sit there unquoted either).
 */
export function sqlTextProblems(text: string, rules: SqlTextRules): string[] {
  const problems: string[] = [];
  const configured = new Set(rules.configured ?? []);
  const keys = rules.keys === undefined ? undefined : new Set(rules.keys);
  let outside = text;
  for (const id of rules.identifiers) outside = outside.split(id).join(' ');
  const literals = outside.match(/'[^']*'/g) ?? [];
  outside = outside.replace(/'[^']*'/g, ' ');
  for (const literal of literals) {
    const body = literal.slice(1, -1);
    if (TYPE_NAMES.has(body) || configured.has(literal)) continue;
    const segments = body.startsWith('{') && body.endsWith('}') ? body.slice(1, -1).split(',') : [body];
    if (!segments.every((s) => LITERAL_KEY.test(s))) {
      problems.push(`literal ${literal} has characters outside LITERAL_KEY`);
      continue;
    }
    if (segments.length > 1 && segments.some((s) => /^null$/i.test(s))) {
      problems.push(`path literal ${literal} has a segment an array literal reads as NULL`);
    }
    if (keys !== undefined && !keys.has(segments.join('.'))) {
      problems.push(`literal ${literal} names no key of the filter`);
    }
  }
  if (/['"\\;]/.test(outside)) problems.push(`a quote, backslash or ; outside literals: ${outside}`);
  if (/--|\/\*/.test(outside)) problems.push('a comment outside literals');
  const tokens = outside
    .replace(/\$\d+/g, ' ')
    .replace(/([()])/g, ' $1 ')
    .split(/\s+/)
    .filter((t) => t !== '');
  for (const t of tokens)
    if (!VOCABULARY.has(t)) problems.push(`${JSON.stringify(t)} is not the compiler's SQL`);
  return problems;
}
