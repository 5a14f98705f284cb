/**
 * Building blocks of the API's schemas, in the JSON Schema dialect of OpenAPI 3.0 that the server
 * documents (/api/openapi.json) and fast-json-stringify serialises natively: `nullable: true`
 * instead of a union with null, `enum` instead of `const`.
 */
import { type TSchema, Type } from '@sinclair/typebox';

export const Nullable = <T extends TSchema>(t: T) =>
  Type.Unsafe<T['static'] | null>({ ...structuredClone(t), nullable: true });

/** A string enum as plain JSON Schema `enum` (OpenAPI 3.0 has no `const`). */
export const StringEnum = <T extends readonly string[]>(values: T, opts: Record<string, unknown> = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...opts });

export const NullableNumber = Nullable(Type.Number());
export const NullableString = Nullable(Type.String());

/** A time as the API answers it: in the home's zone, with its offset. */
export const LocalTime = (description: string) =>
  Type.String({ format: 'date-time', description: `${description} ISO 8601 with the local offset.` });
