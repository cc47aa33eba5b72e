// Evidence mapped to controls (controls.yaml): each control of the chosen framework with the
// evidence its checks find in the report's summary and a status (met, attention, no evidence).
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { CHECK_IDS, evaluateCheck, type CheckResult, type CheckStatus } from './control-checks.ts';
import type { ReportSummary } from './report-summary.ts';

export const CONTROL_FRAMEWORKS = ['soc2', 'iso27001', 'nist80053'] as const;
export type ControlFramework = (typeof CONTROL_FRAMEWORKS)[number];

const mappingSchema = z.strictObject({
  frameworks: z.partialRecord(z.enum(CONTROL_FRAMEWORKS), z.string().min(1)),
  controls: z
    .array(
      z.strictObject({
        framework: z.enum(CONTROL_FRAMEWORKS),
        id: z.string().min(1),
        title: z.string().min(1),
        checks: z.array(z.enum(CHECK_IDS)).min(1),
        /** Free text for the people who keep the mapping (why these checks); not in the report. */
        notes: z.string().optional(),
      }),
    )
    .min(1),
});
export type ControlMapping = z.infer<typeof mappingSchema>;

export interface ControlResult {
  framework: ControlFramework;
  id: string;
  title: string;
  status: CheckStatus;
  /** Why the control needs attention, from every check that does. */
  reasons: string[];
  checks: CheckResult[];
}

export interface ControlsSection {
  framework: ControlFramework;
  frameworkTitle: string;
  controls: ControlResult[];
}

/** Parses and checks a mapping; a wrong one fails with every problem and its path. */
export function parseControlMapping(text: string): ControlMapping {
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new Error(
      `controls.yaml is not valid YAML: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const parsed = mappingSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`controls.yaml is not a valid control mapping: ${problems}`);
  }
  return parsed.data;
}

let shipped: ControlMapping | undefined;

/** The mapping shipped beside this file, read once. */
export function shippedControlMapping(): ControlMapping {
  shipped ??= parseControlMapping(readFileSync(new URL('./controls.yaml', import.meta.url), 'utf8'));
  return shipped;
}

export function evaluateControls(
  framework: ControlFramework,
  summary: ReportSummary,
  mapping: ControlMapping = shippedControlMapping(),
): ControlsSection {
  const controls = mapping.controls
    .filter((c) => c.framework === framework)
    .map((c): ControlResult => {
      const checks = c.checks.map((check) => evaluateCheck(check, summary));
      const reasons = checks.flatMap((r) => r.reasons);
      const status: CheckStatus =
        reasons.length > 0
          ? 'attention'
          : checks.some((r) => r.status === 'met')
            ? 'met'
            : 'no evidence in period';
      return { framework, id: c.id, title: c.title, status, reasons, checks };
    });
  return { framework, frameworkTitle: mapping.frameworks[framework] ?? framework, controls };
}
