// The one size limit on a request's context: 32 KiB of JSON. Every door that creates a request
// (REST, MCP, the gateway through MCP) reaches it through createRequest, before anything is read
// or written.
import { AppError } from '../errors.ts';

export const MAX_CONTEXT_BYTES = 32 * 1024;

/** Throws PAYLOAD_TOO_LARGE (413) pointing at `/context` when its JSON is over 32 KiB. */
export function refuseTooLargeContext(context: Record<string, unknown> | null | undefined): void {
  if (!context || Buffer.byteLength(JSON.stringify(context)) <= MAX_CONTEXT_BYTES) return;
  throw new AppError('PAYLOAD_TOO_LARGE', {
    detail: 'context is larger than 32 KiB',
    errors: [{ pointer: '/context', message: 'larger than 32 KiB' }],
  });
}
