export function invokedCommand(args: readonly string[]): string | undefined;
export const DATABASE_COMMANDS: ReadonlySet<string>;
export const CLIENT_COMMANDS: ReadonlySet<string>;
