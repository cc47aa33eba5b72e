// Waiting on me (/), the request list (/requests) and the request page (/requests/{id}) with its
// Approve and Deny forms. Decisions go through recordDecision like chat clicks, as platform `web`.
import { grantChoices } from '../../chat/card-view.ts';
import { commandLineOf } from '../../approvals/exec-binding.ts';
import type { Request, Router } from 'express';
import { z } from 'zod';
import { canSeeRequest, visibleRequestsWhere } from '../../approvals/can-see-request.ts';
import { checkEligibility, decidingRulesOf } from '../../approvals/decider-eligibility.ts';
import { findDelegatedEligibility } from '../../approvals/delegation/delegated-eligibility.ts';
import { viewerMayDecide } from '../../approvals/viewer-may-decide.ts';
import { readRequestChain } from '../../audit/request-chain.ts';
import { recordDecision } from '../../approvals/record-decision.ts';
import {
  REVIEW_OUTCOMES,
  reviewBreakGlass,
  reviewStatusOf,
} from '../../approvals/break-glass/review-break-glass.ts';
import { TEXT_LIMITS } from '../../approvals/text-limits.ts';
import { AppError, isAppError } from '../../errors.ts';
import { listConsoleRequests, requestFiltersSchema } from '../read/list-console-requests.ts';
import { listWaitingRequests } from '../read/list-waiting-requests.ts';
import { loadRequestView } from '../read/load-request-view.ts';
import { sessionRefOf, userOf } from '../sessions/web-user.ts';
import { isSignInConfigured, type WebContext } from '../web-context.ts';
import { POLICY_CHANGE_ACTION } from '../../approvals/policy/policy-versions.ts';
import { describeTimeline } from '../describe-timeline.ts';

const approveForm = z.object({
  confirm: z.literal('yes'),
  /** "" = this call only; else minutes of a time-bound grant (checked against the rule by the core). */
  grant: z
    .string()
    .regex(/^\d{0,6}$/)
    .optional(),
  _csrf: z.string().optional(),
});
// The reason's limit is checked by recordDecision, as on every door; here only its shape.
const denyForm = z.object({ reason: z.string().optional(), _csrf: z.string().optional() });
const reviewForm = z.object({
  outcome: z.enum(REVIEW_OUTCOMES),
  note: z.string().optional(),
  _csrf: z.string().optional(),
});

function requestIdOf(req: Request): string {
  return String(req.params['id']);
}

export function mountRequestRoutes(router: Router, ctx: WebContext): void {
  router.get('/', async (req, res) => {
    if (!isSignInConfigured(ctx.settings)) {
      ctx.page(req, res, 'setup', { title: 'Set up sign-in' });
      return;
    }
    const user = userOf(req);
    const items = await listWaitingRequests(ctx.deps, user.email);
    ctx.page(req, res, 'waiting', {
      title: 'Waiting on me',
      nav: 'waiting',
      items,
      now: ctx.deps.clock.now(),
    });
  });

  router.get('/requests', async (req, res) => {
    const user = userOf(req);
    const parsed = requestFiltersSchema.safeParse(req.query);
    if (!parsed.success) {
      throw new AppError('VALIDATION_FAILED', {
        detail: `bad filter: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
      });
    }
    const filters = parsed.data;
    const page = await listConsoleRequests(
      ctx.deps,
      filters,
      visibleRequestsWhere(ctx.deps.policy, user.email),
    );
    const next = page.nextCursor
      ? `/requests?${new URLSearchParams({
          ...Object.fromEntries(
            Object.entries(filters).filter(([k, v]) => k !== 'cursor' && v !== undefined),
          ),
          cursor: page.nextCursor,
        }).toString()}`
      : null;
    ctx.page(req, res, 'requests', {
      title: 'Requests',
      nav: 'requests',
      items: page.items,
      filters,
      next,
      rules: ctx.deps.policy.rules.map((r) => r.name),
      now: ctx.deps.clock.now(),
    });
  });

  router.get('/requests/:id', async (req, res) => {
    const user = userOf(req);
    const view = await loadRequestView(ctx.deps, requestIdOf(req));
    const { request } = view;
    const review =
      request.breakGlass === null
        ? null
        : await ctx.deps.db.prisma.breakGlassReview.findUnique({ where: { requestId: request.id } });
    const isReviewer = review !== null && review.reviewers.includes(user.email);
    const now = ctx.deps.clock.now();
    // Not shown, and not said to exist, to someone not involved in it (a break-glass reviewer is,
    // and so is a delegate who may decide it now).
    const involved =
      isReviewer ||
      canSeeRequest(ctx.deps.policy, user.email, { ...request, clientAdmins: view.clientAdmins }) ||
      (await viewerMayDecide(ctx.deps.db, request, user.email, now));
    if (!involved) {
      throw new AppError('NOT_FOUND', { detail: `no approval request with id ${request.id}` });
    }
    const approvals = request.decisions.filter((d) => d.verdict === 'approve').length;
    const open = request.status === 'pending' && request.expiresAt > now;
    const myDecision = request.decisions.find((d) => d.approverEmail === user.email) ?? null;
    // The buttons show only to whom the core would let decide, by the rules its chain recorded;
    // posting is checked again there.
    const cannotDecide = open && !myDecision ? await whyCannotDecide(ctx, request, user.email) : null;
    ctx.page(req, res, 'request', {
      title: request.title ?? request.action,
      nav: 'requests',
      view,
      approvals,
      now,
      timeline: describeTimeline(view.events, view.actorNames),
      context: JSON.stringify(request.context, null, 2),
      commandLine: commandLineOf(request.context),
      policyDiff: policyDiffOf(request.action, request.context),
      agent: request.agent === null ? null : JSON.stringify(request.agent),
      canTryToDecide: open,
      myDecision,
      cannotDecide,
      reasonLimit: TEXT_LIMITS.reason,
      grantChoices: grantChoices(request.grantUpTo),
      breakGlass:
        review === null
          ? null
          : {
              reason: request.breakGlass,
              status: reviewStatusOf(review),
              reviewers: review.reviewers,
              dueAt: review.dueAt,
              reviewedBy: review.reviewedBy,
              note: review.note,
              canReview:
                review.outcome === null &&
                user.email !== review.requesterEmail &&
                (isReviewer || review.reviewers.some((r) => r.startsWith('idp:'))),
            },
    });
  });

  router.post('/requests/:id/break-glass-review', ctx.csrf.require, async (req, res) => {
    const user = userOf(req);
    const id = requestIdOf(req);
    const form = reviewForm.safeParse(req.body);
    if (!form.success) {
      req.session.flash = { kind: 'error', text: 'Not recorded: choose acknowledge or flag.' };
    } else {
      try {
        await reviewBreakGlass(ctx.deps, {
          requestId: id,
          reviewer: user.email,
          outcome: form.data.outcome,
          note: form.data.note || null,
        });
        req.session.flash = { kind: 'ok', text: `You ${form.data.outcome} this break-glass use.` };
      } catch (error) {
        if (!isAppError(error) || error.code === 'NOT_FOUND' || error.code === 'INTERNAL') throw error;
        req.session.flash = { kind: 'error', text: `Not recorded: ${error.detail}.` };
      }
    }
    res.redirect(303, `/requests/${encodeURIComponent(id)}`);
  });

  router.post('/requests/:id/approve', ctx.csrf.require, async (req, res) => {
    userOf(req);
    const id = requestIdOf(req);
    const form = approveForm.safeParse(req.body);
    if (!form.success) {
      req.session.flash = { kind: 'error', text: 'Tick the confirmation to approve.' };
      res.redirect(303, `/requests/${encodeURIComponent(id)}`);
      return;
    }
    const grant = form.data.grant ? Number(form.data.grant) : null;
    await decide(ctx, req, id, 'approve', null, grant);
    res.redirect(303, `/requests/${encodeURIComponent(id)}`);
  });

  router.post('/requests/:id/deny', ctx.csrf.require, async (req, res) => {
    userOf(req);
    const id = requestIdOf(req);
    const form = denyForm.safeParse(req.body);
    if (!form.success) {
      req.session.flash = { kind: 'error', text: 'Not recorded: send the deny form with one reason field.' };
    } else {
      await decide(ctx, req, id, 'deny', form.data.reason ?? null);
    }
    res.redirect(303, `/requests/${encodeURIComponent(id)}`);
  });
}

async function whyCannotDecide(
  ctx: WebContext,
  request: { id: string; agentOwner: string | null },
  email: string,
): Promise<string | null> {
  const db = ctx.deps.db;
  const chain = await readRequestChain(db, request.id);
  if (!chain.found) return `its audit chain does not hold (${chain.reason})`;
  const rules = decidingRulesOf(chain.chain, request.agentOwner);
  const eligibility = await checkEligibility(db, rules, email);
  if (eligibility.eligible) return null;
  if (eligibility.reason !== 'not_eligible') return eligibility.detail;
  const delegated = await findDelegatedEligibility(db, rules, email, ctx.deps.clock.now());
  if (delegated.kind === 'delegate') return null;
  return delegated.kind === 'through_requester' ? delegated.detail : eligibility.detail;
}

/** Records the decision; a refusal (self-approval, not eligible, decided, …) becomes the page's message. */
async function decide(
  ctx: WebContext,
  req: Request,
  requestId: string,
  verdict: 'approve' | 'deny',
  reason: string | null,
  grantMinutes: number | null = null,
): Promise<void> {
  const user = userOf(req);
  try {
    const result = await recordDecision(ctx.deps, {
      requestId,
      verdict,
      reason,
      approver: {
        email: user.email,
        platform: 'web',
        platformUserId: user.subject,
        displayName: user.name,
      },
      session: sessionRefOf(user),
      grantMinutes,
    });
    req.session.flash = {
      kind: 'ok',
      text: result.verdict
        ? `Your ${verdict === 'approve' ? 'approval' : 'denial'} is recorded: the request is ${result.verdict}.`
        : result.recorded
          ? `Your ${verdict === 'approve' ? 'approval' : 'denial'} is recorded.`
          : 'You had already decided this request; nothing changed.',
    };
  } catch (error) {
    if (!isAppError(error) || error.code === 'NOT_FOUND' || error.code === 'INTERNAL') throw error;
    ctx.deps.log.info({ code: error.code, requestId, email: user.email }, 'web decision refused');
    req.session.flash = {
      kind: 'error',
      text: `Not recorded: ${error.detail}.`,
      ...(reason !== null ? { draft: reason.replace(/\r\n?/g, '\n') } : {}),
    };
  }
}

/** A policy.change request's diff against the version in force, shown as written (propose-policy.ts). */
function policyDiffOf(action: string, context: unknown): string | null {
  if (action !== POLICY_CHANGE_ACTION || typeof context !== 'object' || context === null) return null;
  const diff = (context as Record<string, unknown>)['diff'];
  return typeof diff === 'string' ? diff : null;
}
