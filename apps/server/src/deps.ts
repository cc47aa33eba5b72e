// What use cases receive instead of importing globals: the database, a clock and a logger.
import type { Database } from './db/client.ts';
import type { Logger } from './observability/logger.ts';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface Deps {
  db: Database;
  clock: Clock;
  log: Logger;
}
