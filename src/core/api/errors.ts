/** The body of every error answer of the API (server/api/errors.ts makes them). */
import { type Static, Type } from '@sinclair/typebox';

export const ErrorSchema = Type.Object(
  {
    error: Type.String({
      description: 'bad_request, unauthorized, not_found, too_many_requests, unavailable or internal',
    }),
    message: Type.String({ description: 'What is wrong; a bad parameter is named first: `start: …`.' }),
  },
  { $id: 'Error', description: 'Every error answer.' },
);
export type ErrorAnswer = Static<typeof ErrorSchema>;
