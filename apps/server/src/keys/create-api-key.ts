// Creates a client with its first API key. The key and the callback secrets are returned once
// and never again: only the key's hash is stored. The creation is audited in the same transaction.
import { appendAuditEvent } from '../audit/append-event.ts';
import type { Database } from '../db/client.ts';
import { inTransaction } from '../db/transaction.ts';
import {
  deriveWebhookSecret,
  displayPrefix,
  generateApiKey,
  generateCallbackSecret,
  hashApiKey,
} from './key-material.ts';
import { normaliseAdminEmails } from './key-admins.ts';
import { insertClientWithKey } from './key-store.ts';
import { DEFAULT_SCOPES, type Scope } from './scopes.ts';

export interface CreateApiKeyInput {
  name: string;
  scopes?: Scope[];
  /** Requesters the key speaks for (lower-cased); empty or unset = unbound, the requester is only claimed. */
  requesters?: string[];
  /** Action globs the key may ask about; empty or unset = any action. */
  actions?: string[];
  /** People who administer the key's client (emails, checked and lower-cased): they see its requests in the console. */
  admins?: string[];
  /** Who creates it, for the audit log: `cli:<os user>`, `client:<id>`; `system` when unsaid. */
  actor?: string;
  now?: Date;
}

export interface CreatedApiKey {
  id: string;
  clientId: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  requesters: string[];
  actions: string[];
  admins: string[];
  createdAt: Date;
  /** The secret API key; shown once. */
  key: string;
  /** The client's HMAC secret for verifying verdict callbacks; shown once. */
  callbackSecret: string;
  /** The same client's Standard Webhooks secret (`whsec_…`) for verifying the webhook-signature header; shown once. */
  webhookSecret: string;
}

export async function createApiKey(db: Database, input: CreateApiKeyInput): Promise<CreatedApiKey> {
  const key = generateApiKey();
  const callbackSecret = generateCallbackSecret();
  const scopes = [...new Set(input.scopes?.length ? input.scopes : DEFAULT_SCOPES)];
  const requesters = [...new Set((input.requesters ?? []).map((email) => email.trim().toLowerCase()))];
  const actions = [...new Set(input.actions ?? [])];
  const admins = normaliseAdminEmails(input.admins ?? []);
  const now = input.now ?? new Date();
  const apiKey = await inTransaction(db, async (tx) => {
    const apiKey = await insertClientWithKey(tx, {
      name: input.name,
      callbackSecret,
      admins,
      prefix: displayPrefix(key),
      hash: hashApiKey(key),
      scopes,
      requesters,
      actions,
    });
    await appendAuditEvent(
      tx,
      {
        type: 'key.created',
        actor: input.actor ?? 'system',
        payload: {
          keyId: apiKey.id,
          clientId: apiKey.clientId,
          name: apiKey.name,
          prefix: apiKey.prefix,
          scopes,
          // Only bound keys carry these, so an unbound key's event reads as it always did.
          ...(requesters.length > 0 ? { requesters } : {}),
          ...(actions.length > 0 ? { actions } : {}),
          ...(admins.length > 0 ? { admins } : {}),
        },
      },
      now,
    );
    return apiKey;
  });
  return {
    id: apiKey.id,
    clientId: apiKey.clientId,
    name: apiKey.name,
    prefix: apiKey.prefix,
    scopes,
    requesters,
    actions,
    admins,
    createdAt: apiKey.createdAt,
    key,
    callbackSecret,
    webhookSecret: deriveWebhookSecret(callbackSecret),
  };
}
