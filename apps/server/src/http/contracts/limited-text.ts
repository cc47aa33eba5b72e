// A free-text field held to its limit as the person typed it (approvals/text-limits.ts), for the
// contracts of every door that takes one (REST, MCP, console forms).
import { z } from 'zod';
import { TEXT_LIMITS, textLengthProblem, type LimitedField } from '../../approvals/text-limits.ts';

export function limitedText(field: LimitedField) {
  return z
    .string()
    .superRefine((text, ctx) => {
      const problem = textLengthProblem(field, text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .meta({ description: `at most ${TEXT_LIMITS[field]} characters; a line break counts once` });
}
