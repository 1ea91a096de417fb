/** A fixed-window count per key, in memory: one server's view (a fleet would keep it in Redis or Postgres). */
export interface Limit {
  max: number;
  windowMs: number;
}

export class RateLimiter {
  private windows = new Map<string, { count: number; resetAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Count one hit on `key`; null when allowed, else the seconds until it is (for Retry-After). */
  hit(key: string, limit: Limit): number | null {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      if (this.windows.size > 100_000) this.sweep(now);
      window = { count: 0, resetAt: now + limit.windowMs };
      this.windows.set(key, window);
    }
    window.count += 1;
    return window.count > limit.max ? Math.max(1, Math.ceil((window.resetAt - now) / 1000)) : null;
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }
}
