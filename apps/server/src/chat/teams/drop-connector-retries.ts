// The connector client's HTTP pipeline retries on its own (Azure's default retry policy: up to 3
// retries, waiting out each Retry-After). For the card outbox that hides throttling inside one call
// (a 60 s Retry-After would block a flush job for minutes) and breaks its time budget, so the
// transport's clients drop that policy and the outbox decides when to retry (classifyTeamsError).
import type { TurnContext } from 'botbuilder';
import type { Logger } from '../../observability/logger.ts';

const DEFAULT_RETRY_POLICY = 'defaultRetryPolicy';

interface PipelineLike {
  removePolicy(options: { name: string }): unknown;
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

// botbuilder-stdlib's ServiceClientContext keeps the @azure/core-client ServiceClient in `client`.
function pipelineOf(connector: unknown): PipelineLike | undefined {
  const pipeline = field(field(connector, 'client'), 'pipeline');
  return typeof field(pipeline, 'removePolicy') === 'function' ? (pipeline as PipelineLike) : undefined;
}

/** Removes the retry policy from the turn's connector client; false if its shape was not found. */
export function dropConnectorRetries(context: TurnContext, log: Logger): boolean {
  const pipeline = pipelineOf(context.turnState.get(context.adapter.ConnectorClientKey));
  if (!pipeline) {
    log.warn('Teams connector client has no pipeline to adjust; its own retries stay on');
    return false;
  }
  pipeline.removePolicy({ name: DEFAULT_RETRY_POLICY });
  return true;
}
