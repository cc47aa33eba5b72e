// pino logger: JSON lines, secrets redacted wherever they appear in a logged object.
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-slack-signature"]',
  'req.headers["idempotency-key"]',
  'res.headers["set-cookie"]',
  '*.apiKey',
  '*.key',
  '*.token',
  '*.secret',
  '*.callbackSecret',
  '*.webhookSecret',
  '*.password',
  '*.signingSecret',
  '*.connectionString',
  'apiKey',
  'token',
  'secret',
  'callbackSecret',
  'webhookSecret',
  'password',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'countersign' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** Removes the password from a connection string so it can be logged. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}

const SECRET_QUERY_KEY = /token|key|secret|password|passwd|auth|sig|session|credential|code/i;
const SECRET_QUERY_VALUE = /^(xox[a-z]-|xapp-|cs_|sk-|ghp_|eyJ)/;

/** A URL path with the values of secret-looking query parameters replaced, for logs. */
export function redactQueryString(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const params = new URLSearchParams(url.slice(at + 1));
  let changed = false;
  for (const [name, value] of [...params.entries()]) {
    if (SECRET_QUERY_KEY.test(name) || SECRET_QUERY_VALUE.test(value)) {
      params.set(name, '[redacted]');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, at)}?${params.toString()}` : url;
}

/** The parsed query object with the same values replaced. */
export function redactQueryObject(query: unknown): unknown {
  if (!query || typeof query !== 'object') return query;
  return Object.fromEntries(
    Object.entries(query as Record<string, unknown>).map(([name, value]) => [
      name,
      SECRET_QUERY_KEY.test(name) || (typeof value === 'string' && SECRET_QUERY_VALUE.test(value))
        ? '[redacted]'
        : value,
    ]),
  );
}
