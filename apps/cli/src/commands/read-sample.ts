// A sample request body from a JSON file, for `policy check --sample` and `policy test --request`.
import { readFile } from 'node:fs/promises';
import {
  sampleRequestSchema,
  type SampleRequest,
} from '../../../server/src/approvals/policy/policy-warnings.ts';
import { CliError } from '../cli-error.ts';

export async function readSample(path: string): Promise<SampleRequest> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CliError(`cannot read the sample request ${path}: ${(error as Error).message}`);
  }
  const parsed = sampleRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError(
      `the sample request ${path} is not a request body: ${issue?.path.join('.') || '(root)'} ${issue?.message ?? ''}`.trim(),
    );
  }
  return parsed.data;
}
