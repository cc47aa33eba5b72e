// GET /v1/policy/versions and /v1/policy/versions/{version} (scope admin): the policy's stored
// versions, newest first with cursor pagination, and one version with its text and diff.
import { z } from 'zod';
import { getPolicyVersion, listPolicyVersions } from '../../approvals/policy/list-policy-versions.ts';
import {
  policyVersionListSchema,
  policyVersionSchema,
  presentPolicyVersion,
  presentPolicyVersionSummary,
} from '../contracts/policy-version.ts';
import { problemResponse } from '../contracts/problem.ts';
import type { Route } from '../route.ts';
import { AppError } from '../../errors.ts';
import { parseInput, toFieldErrors } from '../validate.ts';

const listQuery = z.strictObject({
  cursor: z.string().min(1).max(512).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

const versionParams = z.strictObject({
  version: z
    .string()
    .regex(/^[1-9]\d{0,8}$/, 'a version number (1, 2, …)')
    .meta({ description: 'the version number' }),
});

export const listPolicyVersionsRoute: Route = {
  method: 'get',
  path: '/v1/policy/versions',
  scope: 'admin',
  contract: {
    operationId: 'listPolicyVersions',
    summary: "List the policy's stored versions, newest first",
    request: { query: listQuery },
    responses: {
      200: {
        description: 'One page of versions',
        content: { 'application/json': { schema: policyVersionListSchema } },
      },
      422: problemResponse('Bad limit or cursor'),
    },
  },
  handlers(ctx) {
    return [
      async (req, res) => {
        const input = parseInput(listQuery, req.query, 'query');
        const page = await listPolicyVersions(ctx.deps, input);
        res.json({ items: page.items.map(presentPolicyVersionSummary), nextCursor: page.nextCursor });
      },
    ];
  },
};

export const getPolicyVersionRoute: Route = {
  method: 'get',
  path: '/v1/policy/versions/{version}',
  scope: 'admin',
  contract: {
    operationId: 'getPolicyVersion',
    summary: 'One stored policy version with its text and the diff from the one before',
    request: { params: versionParams },
    responses: {
      200: { description: 'The version', content: { 'application/json': { schema: policyVersionSchema } } },
      404: problemResponse('No such version'),
      422: problemResponse('The version is not a number'),
    },
  },
  handlers(ctx) {
    return [
      async (req, res) => {
        const params = versionParams.safeParse(req.params);
        if (!params.success) {
          throw new AppError('VALIDATION_FAILED', {
            detail: `the path is invalid: /version must be a version number (1, 2, …)`,
            errors: toFieldErrors(params.error),
          });
        }
        res.json(presentPolicyVersion(await getPolicyVersion(ctx.deps, Number(params.data.version))));
      },
    ];
  },
};
