// Who runs a command, as the audit log names them: `cli:<os user>`.
import { userInfo } from 'node:os';

export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:uid-${process.getuid?.() ?? 'unknown'}`;
  }
}
