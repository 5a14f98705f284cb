/**
 * The API's error answers: `{error, message}` with a stable code per status, the 400 that names the
 * parameter a schema refused, and the error answers the routes document.
 */
import { Type } from '@sinclair/typebox';
import { ErrorSchema } from '../../core/api/errors.js';
import { HttpError } from './util.js';

/** The `error` code of an answer by status, for errors that are not HttpErrors (Fastify's own). */
export const ERRORS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'unavailable',
};

export const ErrorRef = Type.Ref(ErrorSchema);
/** The error answers of a route under /api/v1/…/{device_id}. */
export const deviceErrors = { 400: ErrorRef, 401: ErrorRef, 404: ErrorRef, 429: ErrorRef, 503: ErrorRef };

export interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** `start: is required`, `resolution: must be one of raw, 1min, …`: the parameter first. */
export function formatValidation(errors: AjvError[], part: string): Error {
  const e = errors[0] ?? {};
  const path = (e.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const p = e.params ?? {};
  let message: string;
  if (e.keyword === 'required') message = `${String(p.missingProperty)}: is required`;
  else if (e.keyword === 'additionalProperties') message = `${String(p.additionalProperty)}: unknown parameter`;
  else if (e.keyword === 'enum')
    message = `${path || part}: must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
  else message = `${path || part}: ${e.message ?? 'is not valid'}`;
  return new HttpError(400, 'bad_request', message);
}
