// A clock for use-case tests: fixed at a given instant until the test moves it.
import type { Clock } from '../../apps/server/src/deps.ts';

export const CLOCK_START = new Date('2030-01-01T09:00:00.000Z');

export class SettableClock implements Clock {
  private current: number;

  constructor(start: Date = CLOCK_START) {
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  set(at: Date): void {
    this.current = at.getTime();
  }

  advance(ms: number): Date {
    this.current += ms;
    return this.now();
  }
}
