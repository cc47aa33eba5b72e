// Resolves an operator's secret reference to its value: `env:NAME` (the server's environment) or
// `file:/path` (a file only its owner may read: mode 0600 or stricter). Shared by the gateway file
// and the policy's `secrets:` map; a message names the reference, never the value.
import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';

/** `env:NAME` or `file:/absolute/path`. */
export const secretReferenceSchema = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/.+)$/, 'must be "env:NAME" or "file:/absolute/path"');

export interface SecretReader {
  env: NodeJS.ProcessEnv;
  readFile(path: string): Promise<string>;
  /** The file's permission bits (mode & 0o777). */
  modeOf(path: string): Promise<number>;
}

export const systemSecretReader = (env: NodeJS.ProcessEnv): SecretReader => ({
  env,
  readFile: (path) => readFile(path, 'utf8'),
  modeOf: async (path) => (await stat(path)).mode & 0o777,
});

/** The value a reference names; throws an Error whose message names the reference only. */
export async function resolveSecret(source: string, reader: SecretReader): Promise<string> {
  if (source.startsWith('env:')) {
    const name = source.slice(4);
    const value = reader.env[name];
    if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
    return value;
  }
  const path = source.slice(5);
  let mode: number;
  try {
    mode = await reader.modeOf(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT' ? `file ${path} not found` : `cannot read ${path} (${code ?? 'error'})`,
    );
  }
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `file ${path} has mode ${mode.toString(8).padStart(4, '0')}: others may read it; chmod 600 it`,
    );
  }
  const value = (await reader.readFile(path)).replace(/\r?\n$/, '');
  if (value === '') throw new Error(`file ${path} is empty`);
  return value;
}
