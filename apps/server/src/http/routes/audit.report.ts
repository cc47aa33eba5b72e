// GET /v1/audit/report — the compliance report for a period, streamed as CSV, JSON or Markdown
// (scope audit:read). The run is recorded as a report.generated event for the key's client.
import { z } from 'zod';
import { generateReport, REPORT_CONTENT_TYPES, REPORT_FORMATS } from '../../audit/report/generate-report.ts';
import { parseReportPeriod, periodBoundSchema, ReportPeriodError } from '../../audit/report/report-period.ts';
import { AppError } from '../../errors.ts';
import { principalOf, requireScope } from '../auth.ts';
import { problemResponse } from '../contracts/problem.ts';
import { bearerSecurity, type Route } from '../route.ts';
import { parseInput } from '../validate.ts';

const query = z.strictObject({
  from: periodBoundSchema
    .optional()
    .meta({ description: 'ISO date or datetime, or relative (7d, 24h); default 30 days before `to`' }),
  to: periodBoundSchema
    .optional()
    .meta({ description: 'end, excluded: ISO date (the whole day), datetime or relative; default now' }),
  format: z.enum(REPORT_FORMATS).default('csv'),
  action: z.string().min(1).max(200).optional().meta({ description: 'action glob (* and ?)' }),
  requester: z.email().optional(),
});

export const reportAuditRoute: Route = {
  openapi: {
    method: 'get',
    path: '/v1/audit/report',
    summary: 'The compliance report for a period, streamed',
    security: bearerSecurity,
    request: { query },
    responses: {
      200: {
        description: 'The report: one row per request created in the period, and a summary (JSON, Markdown)',
        content: {
          'text/csv': { schema: z.string() },
          'application/json': {
            schema: z.object({ period: z.unknown(), rows: z.array(z.unknown()), summary: z.unknown() }),
          },
          'text/markdown': { schema: z.string() },
        },
      },
      401: problemResponse('Missing, invalid or revoked API key'),
      403: problemResponse('Key lacks audit:read'),
      422: problemResponse('Bad period, format or filter'),
    },
  },
  mount(router, ctx) {
    router.get('/v1/audit/report', requireScope(ctx.deps.db.prisma, 'audit:read'), async (req, res) => {
      const input = parseInput(query, req.query, 'query');
      let period;
      try {
        period = parseReportPeriod(input, ctx.deps.clock.now());
      } catch (error) {
        if (!(error instanceof ReportPeriodError)) throw error;
        throw new AppError('VALIDATION_FAILED', { detail: error.message });
      }
      const stamp = (d: Date) => d.toISOString().replace(/[:.]/g, '-');
      res.setHeader('Content-Type', REPORT_CONTENT_TYPES[input.format]);
      res.setHeader(
        'Content-Disposition',
        `attachment; filename="countersign-report-${stamp(period.from)}-${stamp(period.to)}.${input.format}"`,
      );
      try {
        await generateReport({
          db: ctx.deps.db,
          period,
          format: input.format,
          filters: { action: input.action, requester: input.requester },
          out: res,
          actor: `client:${principalOf(res).clientId}`,
          now: () => ctx.deps.clock.now(),
        });
        res.end();
      } catch (error) {
        // Once streaming has begun the status is sent: cut the response so it cannot pass as complete.
        if (!res.headersSent) throw error;
        req.log.error({ err: error }, 'audit report failed while streaming');
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      }
    });
  },
};
