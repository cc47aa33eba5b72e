import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { deriveWebhookSecret } from '../keys/key-material.ts';
import { standardWebhookHeaders, webhookSecretBytes } from './standard-webhooks.ts';

const now = new Date('2026-12-07T12:00:00Z');

describe('standardWebhookHeaders', () => {
  it('signs exactly as the reference library does', () => {
    const secret = 'whsec_' + randomBytes(32).toString('base64');
    const body = '{"type":"approval.decided","approval":{"id":"x","note":"ü"}}';
    const headers = standardWebhookHeaders({ id: 'a1b2', secret, body, now });
    expect(headers).toEqual({
      'webhook-id': 'a1b2',
      'webhook-timestamp': String(now.getTime() / 1000),
      'webhook-signature': new Webhook(secret).sign('a1b2', now, body),
    });
  });

  it('refuses ids with a dot and secrets that are not whsec_ base64 of 24 to 64 bytes', () => {
    const secret = deriveWebhookSecret('cbsec_example');
    expect(() => standardWebhookHeaders({ id: 'a.b', secret, body: '{}', now })).toThrow(/must not contain/);
    expect(() => webhookSecretBytes('cbsec_abc')).toThrow(/whsec_/);
    expect(() => webhookSecretBytes('whsec_***')).toThrow(/base64/);
    expect(() => webhookSecretBytes('whsec_' + randomBytes(16).toString('base64'))).toThrow(/24 to 64/);
    expect(webhookSecretBytes(secret)).toHaveLength(32);
  });

  it('derives one stable webhook secret per callback secret', () => {
    expect(deriveWebhookSecret('cbsec_a')).toBe(deriveWebhookSecret('cbsec_a'));
    expect(deriveWebhookSecret('cbsec_a')).not.toBe(deriveWebhookSecret('cbsec_b'));
    expect(deriveWebhookSecret('cbsec_a')).not.toContain('cbsec_a');
  });
});
