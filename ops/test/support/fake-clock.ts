// A clock whose sleep() advances time instantly, so polling loops of minutes run in milliseconds.
import type { Clock } from '../../clock';

export class FakeClock implements Clock {
  readonly sleeps: number[] = [];

  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.current += ms;
    await Promise.resolve();
  }
}
