// The mapping from Node's parser error codes to problems; the wire behaviour is in
// test/http/hostile-input.test.ts (a request timeout there would take the server's 5 minutes).
import { describe, expect, it } from 'vitest';
import { clientErrorProblem } from './answer-client-error.ts';

describe('clientErrorProblem', () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', 'HEADERS_TOO_LARGE', 431],
    ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 'PAYLOAD_TOO_LARGE', 413],
    ['ERR_HTTP_REQUEST_TIMEOUT', 'REQUEST_TIMEOUT', 408],
    ['HPE_INVALID_HEADER_TOKEN', 'MALFORMED_REQUEST', 400],
    [undefined, 'MALFORMED_REQUEST', 400],
  ])('%s → %s (%i), as Node itself would answer', (nodeCode, code, status) => {
    const problem = clientErrorProblem(nodeCode);
    expect(problem.code).toBe(code);
    expect(problem.status).toBe(status);
  });
});
