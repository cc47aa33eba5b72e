// My delegation (/delegation): a signed-in approver names a colleague who decides in their place
// until a date, and ends it early. The core's addDelegation and removeDelegation hold the rules
// (not to oneself, no loop, until in the future and within a year, chain rules at use time).
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import {
  addDelegation,
  listDelegations,
  MAX_DELEGATION_DAYS,
  removeDelegation,
} from '../../approvals/delegation/delegations.ts';
import { TEXT_LIMITS } from '../../approvals/text-limits.ts';
import { AppError, ERROR_CODES, isAppError } from '../../errors.ts';
import { untilOf } from '../../http/contracts/delegation.ts';
import { userOf } from '../sessions/web-user.ts';
import type { WebContext } from '../web-context.ts';

const addForm = z.object({
  to: z.string(),
  until: z.string(),
  reason: z.string().optional(),
  _csrf: z.string().optional(),
});
const removeForm = z.object({ id: z.string(), _csrf: z.string().optional() });

/** What the form held, shown again when it is refused. */
interface Typed {
  to: string;
  until: string;
  reason: string;
}

const EMPTY: Typed = { to: '', until: '', reason: '' };
const DATE = /^\d{4}-\d{2}-\d{2}$/;

async function renderDelegationPage(
  ctx: WebContext,
  req: Request,
  res: Response,
  refusal: { text: string; status: number; typed: Typed } | null = null,
): Promise<void> {
  const user = userOf(req);
  const active = await listDelegations(ctx.deps, { email: user.email });
  ctx.page(
    req,
    res,
    'delegation',
    {
      title: 'My delegation',
      nav: 'delegation',
      mine: active.filter((d) => d.fromEmail === user.email),
      forMe: active.filter((d) => d.toEmail === user.email),
      typed: refusal?.typed ?? EMPTY,
      refusal: refusal?.text ?? null,
      maxDays: MAX_DELEGATION_DAYS,
      reasonLimit: TEXT_LIMITS.reason,
    },
    refusal?.status,
  );
}

/** The form's own shape: an email and a calendar date; everything else is the core's to judge. */
function checkTyped(typed: Typed): AppError | null {
  if (!z.email().safeParse(typed.to.trim()).success) {
    return new AppError('VALIDATION_FAILED', {
      detail: `"${typed.to}" is not an email address: name the colleague who decides in your place`,
    });
  }
  if (!DATE.test(typed.until) || Number.isNaN(Date.parse(`${typed.until}T00:00:00Z`))) {
    return new AppError('VALIDATION_FAILED', {
      detail: `"${typed.until}" is not a date (YYYY-MM-DD): the delegation runs through that day, UTC`,
    });
  }
  return null;
}

export function mountDelegationRoutes(router: Router, ctx: WebContext): void {
  router.get('/delegation', async (req, res) => {
    await renderDelegationPage(ctx, req, res);
  });

  router.post('/delegation', ctx.csrf.require, async (req, res) => {
    const user = userOf(req);
    const form = addForm.safeParse(req.body);
    if (!form.success) {
      throw new AppError('VALIDATION_FAILED', {
        detail: 'send the delegation form with to, until and reason',
      });
    }
    const typed: Typed = { to: form.data.to, until: form.data.until, reason: form.data.reason ?? '' };
    try {
      const refused = checkTyped(typed);
      if (refused) throw refused;
      const created = await addDelegation(ctx.deps, {
        from: user.email,
        to: typed.to,
        until: untilOf(typed.until),
        reason: typed.reason.trim() === '' ? null : typed.reason,
        actor: user.email,
      });
      req.session.flash = {
        kind: 'ok',
        text: `${created.toEmail} now decides in your place through ${typed.until} (UTC).`,
      };
      res.redirect(303, '/delegation');
    } catch (error) {
      if (!isAppError(error) || error.code === 'INTERNAL') throw error;
      await renderDelegationPage(ctx, req, res, {
        text: `Not saved: ${error.detail}.`,
        status: ERROR_CODES[error.code].status,
        typed,
      });
    }
  });

  router.post('/delegation/remove', ctx.csrf.require, async (req, res) => {
    const user = userOf(req);
    const form = removeForm.safeParse(req.body);
    if (!form.success) {
      throw new AppError('VALIDATION_FAILED', { detail: 'send the remove form with the delegation id' });
    }
    // Only the delegator's own delegation: any other id is "not found", as if it did not exist.
    const removed = await removeDelegation(ctx.deps, form.data.id, user.email, user.email);
    req.session.flash = { kind: 'ok', text: `${removed.toEmail} no longer decides in your place.` };
    res.redirect(303, '/delegation');
  });
}
