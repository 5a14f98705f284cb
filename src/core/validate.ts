/**
 * Schema validation with messages that name the offending key: `sungrow.port: must be <= 65535`.
 * One TypeBox schema per boundary (config files, MQTT payloads, REST bodies); types derive from it.
 */
import { FormatRegistry, type Static, type TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler, type ValueError } from '@sinclair/typebox/compiler';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import { ConfigError } from './errors.js';

// TypeBox knows no string formats until they are registered; the schemas use 'date-time' (RFC 3339).
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) => DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)));
}

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

export function checker<T extends TSchema>(schema: T): TypeCheck<T> {
  let c = compiled.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    compiled.set(schema, c);
  }
  return c as TypeCheck<T>;
}

function pathOf(err: ValueError, prefix: string): string {
  const parts = err.path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const joined = parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
  if (prefix && joined) return joined.startsWith('[') ? `${prefix}${joined}` : `${prefix}.${joined}`;
  return joined || prefix || '(root)';
}

function describe(err: ValueError): string {
  const s = err.schema as Record<string, unknown>;
  switch (err.type) {
    case ValueErrorType.ObjectAdditionalProperties:
      return 'unknown key';
    case ValueErrorType.ObjectMinProperties:
      return `must have at least ${String(s.minProperties)} key${s.minProperties === 1 ? '' : 's'}`;
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.Integer:
      return 'must be an integer';
    case ValueErrorType.Number:
      return 'must be a number';
    case ValueErrorType.String:
      return 'must be a string';
    case ValueErrorType.Boolean:
      return 'must be true or false';
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum:
      return `must be >= ${String(s.minimum)}`;
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMaximum:
      return `must be <= ${String(s.maximum)}`;
    case ValueErrorType.NumberExclusiveMinimum:
    case ValueErrorType.IntegerExclusiveMinimum:
      return `must be > ${String(s.exclusiveMinimum)}`;
    case ValueErrorType.StringMinLength:
      return `must have at least ${String(s.minLength)} characters`;
    case ValueErrorType.StringMaxLength:
      return `must have at most ${String(s.maxLength)} characters`;
    case ValueErrorType.StringPattern:
      return `must match ${String(s.pattern)}`;
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(s.const)}`;
    case ValueErrorType.Union: {
      // A schema may say in its own words what its union accepts (TypeBox's text names no member).
      if (typeof s.errorMessage === 'string') return s.errorMessage;
      const lits = (s.anyOf as Array<Record<string, unknown>> | undefined)
        ?.filter((x) => 'const' in x)
        .map((x) => JSON.stringify(x.const));
      if (lits && lits.length === (s.anyOf as unknown[]).length) return `must be one of ${lits.join(', ')}`;
      return err.message.toLowerCase();
    }
    default:
      return err.message.charAt(0).toLowerCase() + err.message.slice(1);
  }
}

/** All problems, one line each, most specific first (union members' noise removed). */
export function validationErrors(schema: TSchema, value: unknown, prefix = ''): string[] {
  const c = checker(schema);
  if (c.Check(value)) return [];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of c.Errors(value)) {
    const line = `${pathOf(e, prefix)}: ${describe(e)}`;
    if (!seen.has(line)) {
      seen.add(line);
      out.push(line);
    }
  }
  return out;
}

/**
 * Fills defaults, then validates. Throws ConfigError listing every problem by key path.
 * `what` names the document in the message (a file path, a flag).
 */
export function parseWithSchema<T extends TSchema>(schema: T, value: unknown, what: string, prefix = ''): Static<T> {
  const withDefaults = Value.Default(schema, structuredClone(value ?? {}));
  const errors = validationErrors(schema, withDefaults, prefix);
  if (errors.length > 0) throw new ConfigError(`${what}: ${errors.join('; ')}`);
  return withDefaults as Static<T>;
}
