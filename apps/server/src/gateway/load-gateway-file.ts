// Reads and validates a gateway file, then resolves every secret it names. Each problem names the
// line, column and field, as the policy file's do; a secret's value is never part of a message.
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import {
  fieldName,
  locate,
  schemaProblems,
  syntaxProblems,
  type PolicyProblem,
} from '../approvals/policy/load-policy.ts';
import { gatewayFileSchema, type GatewayFile } from './gateway-file-schema.ts';
import { resolveSecret, type SecretReader } from '../secrets/resolve-secret.ts';

export { systemSecretReader, type SecretReader } from '../secrets/resolve-secret.ts';

export type GatewayProblem = PolicyProblem;

export class GatewayFileError extends Error {
  constructor(
    readonly source: string,
    readonly problems: GatewayProblem[],
  ) {
    super(
      `${source}: invalid gateway file\n${problems.map((p) => `  line ${p.line}, column ${p.column}: ${p.field}: ${p.message}`).join('\n')}`,
    );
    this.name = 'GatewayFileError';
  }
}

/** A downstream server as the gateway starts it, secrets already in place. */
export type DownstreamServer =
  | {
      name: string;
      kind: 'stdio';
      command: string;
      args: string[];
      env: Record<string, string>;
      cwd?: string | undefined;
    }
  | { name: string; kind: 'http'; url: string; headers: Record<string, string> };

export interface GatewayConfig {
  source: string;
  file: GatewayFile;
  servers: DownstreamServer[];
  /** Every resolved secret value, to scan results for; never shown. */
  secretValues: string[];
  /** Which secrets each server received (names only), for the execution record. */
  secretsByServer: Record<string, string[]>;
}

const WHOLE_REFERENCE = /^secret:([\w.-]+)$/;
const EMBEDDED_REFERENCE = /\$\{secret:([\w.-]+)\}/g;

function referencedSecrets(value: string): string[] {
  const whole = WHOLE_REFERENCE.exec(value);
  if (whole?.[1]) return [whole[1]];
  return [...value.matchAll(EMBEDDED_REFERENCE)].map((m) => m[1] ?? '');
}

function substitute(value: string, secrets: ReadonlyMap<string, string>): string {
  const whole = WHOLE_REFERENCE.exec(value);
  if (whole?.[1]) return secrets.get(whole[1]) ?? '';
  return value.replace(EMBEDDED_REFERENCE, (_m, name: string) => secrets.get(name) ?? '');
}

/** Duplicate keys reported by the YAML parser, reworded for the map they are in. */
function duplicateKeyProblems(doc: Document, lines: LineCounter): GatewayProblem[] {
  const problems: GatewayProblem[] = [];
  const visit = (node: unknown, path: string[]) => {
    if (!isMap(node)) return;
    const seen = new Set<unknown>();
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue;
      const key = pair.key.value;
      if (seen.has(key) && pair.key.range) {
        const pos = lines.linePos(pair.key.range[0]);
        const inServers = path.length === 1 && path[0] === 'servers';
        problems.push({
          line: pos.line,
          column: pos.col,
          field: fieldName([...path, String(key)]),
          message: inServers ? `duplicate server name "${String(key)}"` : 'duplicate key',
        });
      }
      seen.add(key);
      visit(pair.value, [...path, String(key)]);
    }
  };
  visit(doc.contents, []);
  return problems;
}

interface ParsedGatewayFile {
  file: GatewayFile;
  doc: Document;
  lines: LineCounter;
}

/** Shape and references only: nothing is read from the environment or the disk. */
export function parseGatewayFile(text: string, source: string): ParsedGatewayFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const yamlProblems = syntaxProblems(doc, lines);
  const duplicates = duplicateKeyProblems(doc, lines);
  let parsed: ReturnType<typeof gatewayFileSchema.safeParse> | undefined;
  try {
    parsed = gatewayFileSchema.safeParse(doc.toJS() ?? {});
  } catch {
    parsed = undefined;
  }
  const shape = parsed && !parsed.success ? schemaProblems(doc, lines, parsed.error.issues) : [];
  const problems = [...yamlProblems, ...duplicates, ...shape];
  if (problems.length > 0 || !parsed?.success) {
    throw new GatewayFileError(
      source,
      problems.length > 0
        ? problems
        : [{ line: 1, column: 1, field: '(root)', message: 'not a gateway file' }],
    );
  }
  const file = parsed.data;
  const at = (path: (string | number)[], message: string): GatewayProblem => ({
    ...locate(doc, lines, path),
    field: fieldName(path),
    message,
  });
  const referenceProblems: GatewayProblem[] = [];
  for (const [name, server] of Object.entries(file.servers)) {
    const places: [string, Record<string, string>][] =
      'command' in server ? [['env', server.env]] : [['headers', server.headers]];
    for (const [where, values] of places) {
      for (const [key, value] of Object.entries(values)) {
        for (const secret of referencedSecrets(value)) {
          if (!(secret in file.secrets)) {
            referenceProblems.push(
              at(['servers', name, where, key], `secret "${secret}" is not declared under secrets`),
            );
          }
        }
      }
    }
    if ('command' in server) {
      server.args.forEach((arg, index) => {
        if (referencedSecrets(arg).length > 0) {
          referenceProblems.push(
            at(
              ['servers', name, 'args', index],
              'secrets go into env only: arguments are visible to every process on the machine',
            ),
          );
        }
      });
    }
  }
  if (referenceProblems.length > 0) throw new GatewayFileError(source, referenceProblems);
  return { file, doc, lines };
}

/** Parses the file and resolves the secrets it uses; every problem at once. */
export async function loadGatewayText(
  text: string,
  source: string,
  reader: SecretReader,
): Promise<GatewayConfig> {
  const { file, doc, lines } = parseGatewayFile(text, source);
  const secrets = new Map<string, string>();
  const problems: GatewayProblem[] = [];
  for (const [name, from] of Object.entries(file.secrets)) {
    try {
      secrets.set(name, await resolveSecret(from, reader));
    } catch (error) {
      problems.push({
        ...locate(doc, lines, ['secrets', name]),
        field: fieldName(['secrets', name]),
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }
  if (problems.length > 0) throw new GatewayFileError(source, problems);

  const secretsByServer: Record<string, string[]> = {};
  const servers = Object.entries(file.servers).map(([name, server]): DownstreamServer => {
    const values = 'command' in server ? server.env : server.headers;
    secretsByServer[name] = [...new Set(Object.values(values).flatMap(referencedSecrets))].sort();
    const resolved = Object.fromEntries(
      Object.entries(values).map(([key, value]) => [key, substitute(value, secrets)]),
    );
    return 'command' in server
      ? { name, kind: 'stdio', command: server.command, args: server.args, env: resolved, cwd: server.cwd }
      : { name, kind: 'http', url: server.url, headers: resolved };
  });
  return {
    source,
    file,
    servers,
    secretValues: [...secrets.values()],
    secretsByServer,
  };
}

export async function loadGatewayFile(path: string, reader: SecretReader): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(error);
    throw new GatewayFileError(path, [{ line: 1, column: 1, field: '(file)', message: reason }]);
  }
  return loadGatewayText(text, path, reader);
}
