// Turns a start-up failure into the sentence an operator needs: what failed and where.
import { PolicyError } from '../../server/src/approvals/policy/load-policy.ts';
import type { Config } from '../../server/src/config.ts';
import { GatewayFileError } from '../../server/src/gateway/load-gateway-file.ts';
import { DatabaseUnreachableError } from '../../server/src/db/wait-for-database.ts';

function errnoOf(error: unknown): { code?: string; syscall?: string } {
  if (typeof error !== 'object' || error === null) return {};
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  return {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof syscall === 'string' ? { syscall } : {}),
  };
}

export function describeStartupFailure(error: unknown, config: Pick<Config, 'PORT' | 'HOST'>): string {
  const where = `port ${config.PORT} on ${config.HOST}`;
  const { code, syscall } = errnoOf(error);
  if (syscall === 'listen' && code === 'EADDRINUSE') {
    return `${where} is already in use (EADDRINUSE); stop the other process or set PORT`;
  }
  if (syscall === 'listen' && code === 'EACCES') {
    return `no permission to listen on ${where} (EACCES); use a port above 1023 or set PORT`;
  }
  if (syscall === 'listen' && code === 'EADDRNOTAVAIL') {
    return `HOST ${config.HOST} is not an address of this machine (EADDRNOTAVAIL)`;
  }
  if (error instanceof PolicyError) return `the policy is invalid: ${error.message}`;
  if (error instanceof GatewayFileError) return `the gateway file is invalid: ${error.message}`;
  if (error instanceof DatabaseUnreachableError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
