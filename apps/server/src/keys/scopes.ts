// API key scopes. `admin` implies every other scope.
import { z } from 'zod';

export const SCOPES = ['approvals:write', 'approvals:read', 'audit:read', 'admin'] as const;
export const scopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof scopeSchema>;

export const DEFAULT_SCOPES: Scope[] = ['approvals:write', 'approvals:read'];

export function hasScope(granted: readonly string[], needed: Scope): boolean {
  return granted.includes(needed) || granted.includes('admin');
}
