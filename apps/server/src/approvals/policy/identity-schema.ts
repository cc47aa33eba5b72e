// The policy's `identity:` section: which OIDC issuers may prove a requester with a workload
// identity token, for which audience, from which claim, and how CI logins map to emails.
import { z } from 'zod';

const email = z.email().transform((v) => v.toLowerCase());

/** The issuers whose claim shapes Countersign knows; chosen by issuer URL or by `preset:`. */
export const IDENTITY_PRESETS = ['github-actions', 'gitlab-ci'] as const;
export type IdentityPreset = (typeof IDENTITY_PRESETS)[number];

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

const issuerUrl = z
  .url({ protocol: /^https?$/, error: 'must be the issuer URL exactly as its tokens carry it in "iss"' })
  .refine((value) => {
    const url = new URL(value);
    return url.protocol === 'https:' || LOOPBACK_HOSTS.has(url.hostname);
  }, 'must be https (plain http only on a loopback address)');

export const identityIssuerSchema = z.strictObject({
  issuer: issuerUrl,
  /** The `aud` the tokens must carry (what the CI job asks for). */
  audience: z.string().min(1).max(500),
  /** How the requester is shown, e.g. "github-actions"; the preset's name, or the issuer's host, when unset. */
  name: z
    .string()
    .regex(/^[\w.-]+$/, 'must be letters, digits, ".", "_" or "-"')
    .optional(),
  /** The claim shapes: set automatically for GitHub's and gitlab.com's issuer URLs. */
  preset: z.enum(IDENTITY_PRESETS).optional(),
  /** The claim naming the requester (GitHub: actor, GitLab: user_email); required without a preset. */
  requester: z.string().min(1).max(200).optional(),
  /** Login → email. A requester claim that is not an email must be listed here, or it is refused. */
  map: z.record(z.string().min(1), email).optional(),
});

export const identitySchema = z.strictObject({
  issuers: z.array(identityIssuerSchema).min(1),
});

export type IdentityFile = z.output<typeof identitySchema>;
