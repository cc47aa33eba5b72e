// The error a bad setting raises, in a file of its own so the CLI's entry can tell it apart
// without loading the configuration's schema (zod) on every command.
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
    this.name = 'ConfigError';
  }
}
