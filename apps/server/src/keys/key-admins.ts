// The people who administer a key's client: lower-cased emails, each checked. The console shows
// them the requests the key created (approvals/can-see-request.ts); they decide only if eligible.
import { z } from 'zod';
import { AppError } from '../errors.ts';

const adminEmail = z.email().max(320);

/** Checks and normalises admin emails (trimmed, lower-cased, each once, in the order given). */
export function normaliseAdminEmails(values: readonly string[]): string[] {
  const emails = values.map((value) => {
    const email = value.trim();
    if (!adminEmail.safeParse(email).success) {
      throw new AppError('VALIDATION_FAILED', { detail: `admin "${value}" is not an email` });
    }
    return email.toLowerCase();
  });
  return [...new Set(emails)];
}
