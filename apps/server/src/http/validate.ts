// Turns zod failures at the HTTP edge into VALIDATION_FAILED with a JSON pointer per problem.
import type { z } from 'zod';
import { AppError, type FieldError } from '../errors.ts';
import { refuseHostileInput } from './refuse-hostile-input.ts';

export type InputLocation = 'body' | 'query' | 'header';

function pointer(path: readonly PropertyKey[]): string {
  return '/' + path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

export function toFieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ pointer: pointer([...issue.path, key]), message: 'unknown field' }))
      : [{ pointer: pointer(issue.path), message: issue.message }],
  );
}

export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  location: InputLocation,
): z.output<S> {
  // Node's parser already refuses NUL and control characters in header values.
  if (location !== 'header') refuseHostileInput(value, location);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = toFieldErrors(result.error);
  const where =
    location === 'body' ? 'request body' : location === 'query' ? 'query string' : 'request headers';
  const first = errors[0];
  throw new AppError('VALIDATION_FAILED', {
    detail: `the ${where} is invalid${first ? `: ${first.pointer === '/' ? '' : first.pointer + ' '}${first.message}` : ''}`,
    errors,
  });
}
