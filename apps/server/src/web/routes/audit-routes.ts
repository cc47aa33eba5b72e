// The Audit page (policy group `auditors` only): chain status, charts for a period and the
// compliance report as CSV, JSON or Markdown (the same generateReport as the CLI and the API).
import type { Request, Router } from 'express';
import { z } from 'zod';
import { generateReport, REPORT_CONTENT_TYPES, REPORT_FORMATS } from '../../audit/report/generate-report.ts';
import {
  parseReportPeriod,
  periodBoundSchema,
  reportFileName,
  ReportPeriodError,
  type ReportPeriod,
} from '../../audit/report/report-period.ts';
import { OutputClosedError } from '../../audit/report/write-stream.ts';
import { verifyChain } from '../../audit/verify-chain.ts';
import { checkAuditor } from '../../approvals/check-auditor.ts';
import { BUILT_IN_POLICY } from '../../approvals/policy/policy.ts';
import { AppError } from '../../errors.ts';
import { horizontalBars, verticalBars } from '../charts/bar-chart.ts';
import { loadAuditCharts, VERDICTS } from '../read/load-audit-charts.ts';
import { userOf, type WebUser } from '../sessions/web-user.ts';
import type { WebContext } from '../web-context.ts';

const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const periodQuery = z.object({
  from: z.preprocess(blank, periodBoundSchema.optional()),
  to: z.preprocess(blank, periodBoundSchema.optional()),
});
const reportQuery = periodQuery.extend({ format: z.enum(REPORT_FORMATS).default('csv') });

/** The auditor check chat uses: a refusal is a `report.refused` event before the page says so. */
async function requireAuditor(ctx: WebContext, req: Request): Promise<WebUser> {
  const user = userOf(req);
  const check = await checkAuditor(ctx.deps, {
    email: user.email,
    origin: { platform: 'web' },
    text: `${req.method} ${req.originalUrl}`,
  });
  if (!check.allowed) {
    const how =
      ctx.deps.policy.source === BUILT_IN_POLICY.source
        ? 'this server runs the built-in policy, which has no auditors: whoever runs it sets ' +
          `COUNTERSIGN_POLICY to a policy file whose groups: auditors: lists ${user.email}, and restarts it`
        : `whoever runs this server adds ${user.email} to groups: auditors: in the policy file that ` +
          'COUNTERSIGN_POLICY names, and restarts it';
    throw new AppError('NOT_AUDITOR', {
      detail:
        `the Audit page is for the policy group "auditors", and ${user.email} is not in it; ${how}. ` +
        'The attempt was recorded in the audit trail.',
    });
  }
  return user;
}

function periodOf(
  ctx: WebContext,
  input: { from?: string | undefined; to?: string | undefined },
): ReportPeriod {
  try {
    return parseReportPeriod(input, ctx.deps.clock.now());
  } catch (error) {
    if (!(error instanceof ReportPeriodError)) throw error;
    throw new AppError('VALIDATION_FAILED', { detail: error.message });
  }
}

function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.infer<T> {
  const parsed = schema.safeParse(query);
  if (!parsed.success) {
    throw new AppError('VALIDATION_FAILED', {
      detail: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    });
  }
  return parsed.data;
}

export function mountAuditRoutes(router: Router, ctx: WebContext): void {
  router.get('/audit', async (req, res) => {
    await requireAuditor(ctx, req);
    const input = parseQuery(periodQuery, req.query);
    const period = periodOf(ctx, input);
    const [chain, charts] = await Promise.all([verifyChain(ctx.deps.db), loadAuditCharts(ctx.deps, period)]);
    const perDay = verticalBars(
      charts.days.map((d) => ({
        label: d.day.slice(5),
        stacks: [
          [{ key: 'created', value: d.created }],
          VERDICTS.map((v) => ({ key: v, value: d.verdicts[v] })),
        ],
      })),
    );
    const decisionTimes = verticalBars(
      charts.timeToDecision.buckets.map((b) => ({
        label: b.label,
        stacks: [[{ key: 'decided', value: b.count }]],
      })),
      { width: 480, height: 200 },
    );
    const refusals = horizontalBars(
      charts.refusals.map((r) => ({ label: r.reason.replace(/_/g, ' '), value: r.count, key: 'refused' })),
    );
    ctx.page(req, res, 'audit', {
      title: 'Audit',
      nav: 'audit',
      chain,
      period,
      input,
      charts,
      perDay,
      decisionTimes,
      refusals,
      totals: {
        created: charts.days.reduce((s, d) => s + d.created, 0),
        ...Object.fromEntries(VERDICTS.map((v) => [v, charts.days.reduce((s, d) => s + d.verdicts[v], 0)])),
      },
    });
  });

  router.get('/audit/report', async (req, res) => {
    const user = await requireAuditor(ctx, req);
    const input = parseQuery(reportQuery, req.query);
    const period = periodOf(ctx, input);
    res.setHeader('Content-Type', REPORT_CONTENT_TYPES[input.format]);
    res.setHeader('Content-Disposition', `attachment; filename="${reportFileName(period, input.format)}"`);
    res.setHeader('Cache-Control', 'no-store');
    try {
      await generateReport({
        db: ctx.deps.db,
        checkpointKeys: ctx.deps.receipts.jwks(),
        period,
        format: input.format,
        out: res,
        actor: `web:${user.email}`,
        now: () => ctx.deps.clock.now(),
      });
      res.end();
    } catch (error) {
      if (!res.headersSent) throw error;
      if (error instanceof OutputClosedError) req.log.warn('audit report download left mid-report');
      else req.log.error({ err: error }, 'audit report download failed while streaming');
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  });
}
