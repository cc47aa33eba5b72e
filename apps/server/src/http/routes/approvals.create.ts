// POST /v1/approvals — create an approval request (spec §2), idempotent under Idempotency-Key.
import { z } from 'zod';
import { createRequest } from '../../approvals/create-request.ts';
import { parseDuration } from '../../approvals/duration.ts';
import { principalOf } from '../auth.ts';
import { approvalSchema } from '../../approvals/view/approval.ts';
import { limitedText } from '../contracts/limited-text.ts';
import { presentWithReceipt } from '../../approvals/view/present-with-receipt.ts';
import { problemResponse } from '../contracts/problem.ts';
import { jsonBody } from '../json-body.ts';
import type { Route } from '../route.ts';
import { parseInput } from '../validate.ts';

export const channelString = z
  .string()
  .max(300)
  .regex(/^(slack|teams):\S+$/, 'must be "slack:<channel id>" or "teams:<conversation id>"');

const MAX_EXPIRES_IN_SECONDS = 30 * 86_400;

const email = z.email().max(320);

const expiresIn = z
  .union([
    z.number().int().min(1),
    z.string().transform((text, ctx) => {
      const seconds = parseDuration(text);
      if (seconds === undefined || seconds < 1) {
        ctx.addIssue({ code: 'custom', message: 'must be seconds or a duration like "30m", "1h", "2d"' });
        return z.NEVER;
      }
      return seconds;
    }),
  ])
  .pipe(z.number().max(MAX_EXPIRES_IN_SECONDS, 'must be at most 30 days'));

export const createApprovalBody = z
  .strictObject({
    action: z
      .string()
      .max(200)
      .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a dotted name like "db.export"'),
    title: limitedText('title').min(1).optional(),
    reason: limitedText('reason').optional(),
    requester: z
      .strictObject({ email, name: z.string().min(1).max(200).optional() })
      .optional()
      .meta({
        description:
          'who asks; may be left out when the API key is bound to one requester or an identity token proves it',
      }),
    agent: z
      .strictObject({
        name: z.string().min(1).max(200),
        model: z.string().max(200).optional(),
        runId: z.string().max(200).optional(),
      })
      .optional(),
    // The body was parsed from JSON, so every value here is already a JSON value.
    context: z.record(z.string(), z.unknown()).optional(),
    sensitive: z
      .array(z.string().regex(/^(\/.*)?$/, 'must be a JSON pointer such as "/destination"'))
      .max(100)
      .optional(),
    approvers: z.array(email).min(1).max(100).optional(),
    quorum: z.number().int().min(1).max(100).optional(),
    channel: z
      .union([channelString, z.array(channelString).min(1).max(10)])
      .optional()
      .meta({
        description: 'one channel or a list; the request gets a card in each (within what the rule allows)',
      }),
    expiresIn: expiresIn.optional(),
    callbackUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .max(2048)
      .optional(),
    breakGlass: limitedText('reason').min(1).optional().meta({
      description:
        "break-glass: the emergency reason. Where the matching rule allows it, the request is approved at once, marked break-glass, and its review opens for the rule's reviewers",
    }),
  })
  .superRefine((body, ctx) => {
    if (
      body.approvers &&
      body.quorum &&
      body.quorum > new Set(body.approvers.map((a) => a.toLowerCase())).size
    ) {
      ctx.addIssue({ code: 'custom', path: ['quorum'], message: 'is larger than the number of approvers' });
    }
  })
  .meta({ id: 'CreateApproval' });

const requestHeaders = z.object({
  'countersign-identity-token': z.string().min(1).max(16_384).optional().meta({
    description:
      "an OIDC ID token from the caller's CI (GitHub Actions, GitLab CI, or an issuer the policy lists): proves the requester",
  }),
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'must be 1-255 printable ASCII characters')
    .optional(),
});

export const createApprovalRoute: Route = {
  method: 'post',
  path: '/v1/approvals',
  scope: 'approvals:write',
  contract: {
    operationId: 'createApproval',
    summary: 'Create an approval request',
    request: {
      headers: requestHeaders,
      body: { required: true, content: { 'application/json': { schema: createApprovalBody } } },
    },
    responses: {
      201: { description: 'Created', content: { 'application/json': { schema: approvalSchema } } },
      200: {
        description: 'Replay of the request created earlier with the same Idempotency-Key and body',
        content: { 'application/json': { schema: approvalSchema } },
      },
      400: problemResponse('Malformed JSON'),
      401: problemResponse(
        'Missing, invalid or revoked API key; identity token invalid, expired, for another audience or issuer',
      ),
      403: problemResponse(
        'Key lacks approvals:write; key bound to other requesters or actions; identity login unmapped; break-glass not allowed by the rule',
      ),
      409: problemResponse('Idempotency-Key reused with a different body'),
      413: problemResponse('Body over 64 KiB or context over 32 KiB'),
      415: problemResponse('Body is not application/json'),
      422: problemResponse('Body breaks the schema'),
      429: problemResponse("Break-glass over the rule's maxPerDay for this requester or API key"),
    },
  },
  handlers(ctx) {
    return [
      jsonBody({ required: true }),
      async (req, res) => {
        const headers = parseInput(requestHeaders, req.headers, 'header');
        const body = parseInput(createApprovalBody, req.body, 'body');
        const caller = { ...principalOf(res), identityToken: headers['countersign-identity-token'] };
        const result = await createRequest(ctx.deps, caller, body, headers['idempotency-key']);
        res
          .status(result.replayed ? 200 : 201)
          .location(`/v1/approvals/${result.request.id}`)
          .set(result.replayed ? { 'Idempotent-Replayed': 'true' } : {})
          .json(await presentWithReceipt(ctx.deps, result.request));
      },
    ];
  },
};
