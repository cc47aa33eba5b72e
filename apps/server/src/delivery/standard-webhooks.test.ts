import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
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

  it('adds a v1a Ed25519 signature over the same id.timestamp.body beside v1', () => {
    // The reference library checks the timestamp against its clock: sign at the real time.
    const sentAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const secret = 'whsec_' + randomBytes(32).toString('base64');
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const body = '{"type":"approval.decided"}';
    const headers = standardWebhookHeaders({
      id: 'a1b2',
      secret,
      body,
      now: sentAt,
      signAsymmetric: (content) => sign(null, Buffer.from(content), privateKey).toString('base64'),
    });
    const [v1, v1a, ...more] = (headers['webhook-signature'] ?? '').split(' ');
    expect(more).toEqual([]);
    expect(v1).toBe(new Webhook(secret).sign('a1b2', sentAt, body));
    expect(v1a).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    const signed = Buffer.from(`a1b2.${sentAt.getTime() / 1000}.${body}`);
    expect(verify(null, signed, publicKey, Buffer.from(v1a?.slice(4) ?? '', 'base64'))).toBe(true);
    // The reference library (v1 only) still verifies the header with both signatures in it.
    expect(new Webhook(secret).verify(body, headers)).toEqual({ type: 'approval.decided' });
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
