// The policy file's shape (spec §4), validated with zod. Durations accept "30m"/"1h"/"2d" or seconds.
import { z } from 'zod';
import { parseDuration } from '../duration.ts';
import { MASK_PRESETS } from '../pii-masking.ts';
import { contentRuleFields } from './rule-conditions.ts';
import { identitySchema } from './identity-schema.ts';
import { secretReferenceSchema } from '../../secrets/resolve-secret.ts';

const secretName = z.string().regex(/^[\w.-]+$/, 'secret names are letters, digits, ".", "_" or "-"');

const email = z.email().transform((v) => v.toLowerCase());

const APPROVER_REF = 'must be an email, "group:<name>" or "idp:<group>"';
const approverRef = z.union(
  [
    z.string().regex(/^group:[\w.-]+$/),
    // A group the identity provider keeps (SCIM, directory/): membership is read at decision time.
    z
      .string()
      .regex(/^idp:\S(.*\S)?$/)
      .max(260),
    email,
  ],
  { error: APPROVER_REF },
);

const duration = z.union([z.number().int().min(1), z.string()]).transform((value, ctx) => {
  const seconds = typeof value === 'number' ? value : parseDuration(value);
  if (seconds === undefined || seconds < 1) {
    ctx.addIssue({ code: 'custom', message: 'must be seconds or a duration like "30m", "1h", "2d"' });
    return z.NEVER;
  }
  return seconds;
});

const channel = z
  .string()
  .regex(/^(slack|teams):\S+$/, 'must be "slack:<channel id>" or "teams:<conversation id>"');
/** One channel, or a list: the request is posted to each. */
const channelList = z.union([channel, z.array(channel).min(1)]);
const pointer = z.string().regex(/^(\/.*)?$/, 'must be a JSON pointer such as "/connection"');
const actionGlob = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9_*-]+(\.[A-Za-z0-9_*-]+)*$/, 'must be a dotted action name; "*" matches any characters');

/** Nudges while a request waits, and the word to its requester afterwards (approvals/follow-up/). */
const followUpFields = {
  remind: z.array(duration).min(1).max(10).optional().meta({
    description: 'times after creation to re-notify approvers who have not decided, e.g. [15m, 45m]',
  }),
  escalate: z
    .strictObject({
      after: duration,
      approvers: z.array(approverRef).min(1),
      channel: channel.optional(),
    })
    .optional()
    .meta({
      description: 'after this long undecided: these approvers are added, and a card goes to channel',
    }),
  notifyRequester: z
    .boolean()
    .optional()
    .meta({ description: 'tell the requester the outcome in a direct message (default true)' }),
};

export const ruleSchema = z.strictObject({
  name: z.string().regex(/^[\w.-]+$/, 'must be letters, digits, ".", "_" or "-"'),
  actions: z.array(actionGlob).min(1),
  approvers: z.array(approverRef).min(1).optional(),
  quorum: z.number().int().min(1).max(100).optional(),
  denyQuorum: z.number().int().min(1).max(100).optional(),
  expiresIn: duration.optional(),
  channel: channelList.optional(),
  channels: z.array(channel).min(1).optional(),
  sensitive: z.array(pointer).optional(),
  mask: z.array(z.enum(MASK_PRESETS)).optional().meta({ description: 'presets: "pii" masks personal data' }),
  /** Masks the requester's display name (requester.name) wherever the request is stored or shown. */
  maskRequesterName: z.boolean().optional(),
  autoApprove: z.boolean().optional(),
  denyReason: z.enum(['optional', 'required']).optional(),
  ...contentRuleFields,
  /** `proven`: only a key-bound or workload-proven requester may ask (422 REQUESTER_NOT_PROVEN). */
  requester: z.enum(['claimed', 'proven']).optional(),
  ...followUpFields,
  /**
   * An approver may approve the action for this requester and agent for up to `upTo` instead of
   * one call; later requests in that window are approved by the grant, each in the audit chain.
   */
  grant: z
    .strictObject({ upTo: duration })
    .optional()
    .meta({ description: 'lets an approver approve the action for N minutes, up to upTo' }),
  /** Policy secrets an approved execution of this rule may receive (`request --exec --secret`). */
  secrets: z.array(secretName).min(1).optional().meta({
    description:
      'names from the top-level secrets map that an approved, digest-matched execution may receive in its start answer',
  }),
  /** The requester may proceed at once in an emergency; a mandatory review follows (break-glass). */
  breakGlass: z
    .strictObject({
      allowed: z.boolean(),
      reviewWithin: duration,
      reviewers: z.array(approverRef).min(1),
      maxPerDay: z.number().int().min(1).max(1000).optional(),
    })
    .optional()
    .meta({
      description:
        'break-glass: approved at once, reviewed by `reviewers` within `reviewWithin`; at most `maxPerDay` uses per requester and per API key in 24 hours',
    }),
});

export const policySchema = z.strictObject({
  groups: z
    .record(z.string().regex(/^[\w.-]+$/, 'group names are letters, digits, ".", "_" or "-"'), z.array(email))
    .optional(),
  agents: z
    .record(z.string().min(1), z.strictObject({ owner: email }))
    .optional()
    .meta({ description: 'agent name → the person who owns it; owners can never approve their agent' }),
  defaults: z
    .strictObject({
      approvers: z.array(approverRef).min(1).optional(),
      channel: channelList.optional(),
      expiresIn: duration.optional(),
      quorum: z.number().int().min(1).max(100).optional(),
      denyQuorum: z.number().int().min(1).max(100).optional(),
      mask: z.array(z.enum(MASK_PRESETS)).optional(),
    })
    .optional(),
  rules: z.array(ruleSchema).default([]),
  console: z
    .strictObject({
      requests: z.enum(['involved', 'everyone']).optional().meta({
        description:
          'who sees a request in the web console: the people involved in it (the default: requester, eligible approvers, deciders, the admins of the key that asked, auditors) or every signed-in user',
      }),
    })
    .optional(),
  /**
   * Secret name → where the server reads it (`env:NAME`, `file:/path` at mode 0600); the value is
   * resolved at the execution start that receives it, never stored.
   */
  secrets: z.record(secretName, secretReferenceSchema).optional().meta({
    description: 'secret name → "env:NAME" or "file:/path" (mode 0600) on the server; rules list the names',
  }),
  /** OIDC issuers whose workload identity tokens prove a requester (Countersign-Identity-Token). */
  identity: identitySchema.optional(),
});

export type PolicyFile = z.output<typeof policySchema>;
export type PolicyRuleFile = z.output<typeof ruleSchema>;
