// GET /v1/audit/report — the compliance report for a period, streamed as CSV, JSON or Markdown
// (scope audit:read). The run is recorded as a report.generated event for the key's client.
// The row count and the chain status are only known once the rows are out, so they follow the body
// as HTTP trailers (chunked HTTP/1.1 responses only: not for HEAD or HTTP/1.0).
import { z } from 'zod';
import { generateReport, REPORT_CONTENT_TYPES, REPORT_FORMATS } from '../../audit/report/generate-report.ts';
import { CONTROL_FRAMEWORKS } from '../../audit/report/controls.ts';
import {
  parseReportPeriod,
  periodBoundSchema,
  reportFileName,
  ReportPeriodError,
} from '../../audit/report/report-period.ts';
import { OutputClosedError } from '../../audit/report/write-stream.ts';
import { AppError } from '../../errors.ts';
import { principalOf } from '../auth.ts';
import { problemResponse } from '../contracts/problem.ts';
import type { Route } from '../route.ts';
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
  controls: z
    .enum(CONTROL_FRAMEWORKS)
    .optional()
    .meta({ description: 'add a section per control of this framework: its evidence and status' }),
});

/** Trailers sent after the report body; the chain fields only when the chain is not intact. */
export const REPORT_TRAILERS = {
  rows: 'Countersign-Report-Rows',
  chainIntact: 'Countersign-Chain-Intact',
  firstBadSeq: 'Countersign-Chain-First-Bad-Seq',
  problem: 'Countersign-Chain-Problem',
} as const;

const TRAILER_LIST = Object.values(REPORT_TRAILERS).join(', ');

export const reportAuditRoute: Route = {
  method: 'get',
  path: '/v1/audit/report',
  scope: 'audit:read',
  contract: {
    operationId: 'getAuditReport',
    summary: 'The compliance report for a period, streamed',
    request: { query },
    responses: {
      200: {
        description:
          'The report: one row per request created in the period, and a summary (JSON, Markdown). ' +
          'The body is followed by HTTP trailers (chunked HTTP/1.1 only): ' +
          `\`${REPORT_TRAILERS.rows}\` (rows written), \`${REPORT_TRAILERS.chainIntact}\` (\`true\` or ` +
          `\`false\`) and, when not intact, \`${REPORT_TRAILERS.firstBadSeq}\` and ` +
          `\`${REPORT_TRAILERS.problem}\` (\`hash_mismatch\`, \`broken_link\`, \`sequence_gap\`, ` +
          '`head_mismatch`). Without them (the stream broke, or a proxy dropped them) the report may be ' +
          'incomplete and its chain status is unknown.',
        headers: {
          Trailer: {
            description: 'The trailers that follow the body (absent for HEAD and HTTP/1.0 requests)',
            schema: { type: 'string', example: TRAILER_LIST },
          },
        },
        content: {
          'text/csv': { schema: z.string() },
          'application/json': {
            schema: z.object({ period: z.unknown(), rows: z.array(z.unknown()), summary: z.unknown() }),
          },
          'text/markdown': { schema: z.string() },
        },
      },
      422: problemResponse('Bad period, format or filter'),
    },
  },
  handlers(ctx) {
    return [
      async (req, res) => {
        const input = parseInput(query, req.query, 'query');
        let period;
        try {
          period = parseReportPeriod(input, ctx.deps.clock.now());
        } catch (error) {
          if (!(error instanceof ReportPeriodError)) throw error;
          throw new AppError('VALIDATION_FAILED', { detail: error.message });
        }
        res.setHeader('Content-Type', REPORT_CONTENT_TYPES[input.format]);
        res.setHeader(
          'Content-Disposition',
          `attachment; filename="${reportFileName(period, input.format)}"`,
        );
        // Node throws on a Trailer header without chunked encoding (HEAD, HTTP/1.0).
        const trailers = req.method !== 'HEAD' && (req.httpVersionMajor > 1 || req.httpVersionMinor >= 1);
        if (trailers) res.setHeader('Trailer', TRAILER_LIST);
        try {
          const report = await generateReport({
            db: ctx.deps.db,
            checkpointKeys: ctx.deps.receipts.jwks(),
            period,
            format: input.format,
            filters: { action: input.action, requester: input.requester },
            controls: input.controls,
            out: res,
            actor: `client:${principalOf(res).clientId}`,
            now: () => ctx.deps.clock.now(),
          });
          if (trailers) {
            const { chain } = report.summary;
            res.addTrailers({
              [REPORT_TRAILERS.rows]: String(report.rows),
              [REPORT_TRAILERS.chainIntact]: String(chain.intact),
              ...(chain.intact || chain.verification.intact
                ? {}
                : {
                    [REPORT_TRAILERS.firstBadSeq]: chain.verification.firstBadSeq,
                    [REPORT_TRAILERS.problem]: chain.verification.problem,
                  }),
            });
          }
          res.end();
        } catch (error) {
          // Once streaming has begun the status is sent: cut the response so it cannot pass as complete.
          if (!res.headersSent) {
            res.removeHeader('Trailer'); // the problem+json answer has a Content-Length
            throw error;
          }
          if (error instanceof OutputClosedError) req.log.warn('audit report client went away mid-report');
          else req.log.error({ err: error }, 'audit report failed while streaming');
          res.destroy(error instanceof Error ? error : new Error(String(error)));
        }
      },
    ];
  },
};
