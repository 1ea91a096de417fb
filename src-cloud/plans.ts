/** What each plan grants every month (issue 8): credits are 1 per started minute of finished video. */
export const PLANS = {
  free: { credits: 10, maxQuality: '1080p', watermark: true },
  premium: { credits: 600, maxQuality: '2160p', watermark: false },
} as const;
export type Plan = keyof typeof PLANS;

/** The UTC month `at` falls in, and when it ends. */
export function period(at: Date): { period: string; endsAt: string } {
  const end = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
  return { period: at.toISOString().slice(0, 7), endsAt: end.toISOString() };
}
