// Which way a namespaced tool goes: the first `tools` entry whose glob matches wins; otherwise
// readOnlyDefault for tools that declare readOnlyHint (when set), otherwise `default`.
import type { Decision, GatewayFile } from './gateway-file-schema.ts';

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

export function decideTool(
  file: Pick<GatewayFile, 'tools' | 'default' | 'readOnlyDefault'>,
  name: string,
  readOnlyHint: boolean | undefined,
): Decision {
  const entry = file.tools.find((tool) => globToRegExp(tool.match).test(name));
  if (entry) return entry.decide;
  if (readOnlyHint === true && file.readOnlyDefault) return file.readOnlyDefault;
  return file.default;
}

/** "<server>__<tool>", the name a client sees. */
export function namespacedTool(server: string, tool: string): string {
  return `${server}__${tool}`;
}

/** Tool names a Countersign action can carry (mcp.<server>.<tool>): MCP's own character set. */
export const TOOL_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
