// The gateway inside `countersign serve`: the downstream servers of the gateway file, connected
// once at start-up and shared by every /gateway/mcp request; closed at shutdown.
import type { Logger } from '../observability/logger.ts';
import { DownstreamServers } from './downstream-servers.ts';
import type { GatewayConfig } from './load-gateway-file.ts';
import { fileToolPins, type ToolPins } from './tool-pins.ts';

export interface GatewayHost {
  config: GatewayConfig;
  downstream: DownstreamServers;
  pins: ToolPins;
  close(): Promise<void>;
}

export async function startGateway(
  config: GatewayConfig,
  log: Logger,
  version: string,
): Promise<GatewayHost> {
  const downstream = new DownstreamServers(config.servers, {
    version,
    secretValues: config.secretValues,
    onStderr: (server, text) => log.debug({ server, stderr: text.trimEnd() }, 'gateway downstream stderr'),
    sampling: config.file.sampling,
    elicitation: config.file.elicitation,
    onPeerRequest: (server, line) => log.info({ server }, `gateway downstream ${line}`),
  });
  await downstream.connectAll();
  for (const health of downstream.health()) {
    if (health.healthy) log.info({ server: health.server }, 'gateway downstream connected');
    else log.warn({ server: health.server, error: health.error }, 'gateway downstream unavailable');
  }
  return {
    config,
    downstream,
    pins: fileToolPins(`${config.source}.pins.json`),
    close: () => downstream.close(),
  };
}
