import { VIDEO_STATUSES, type RenderStats, type VideoStatus } from '../../src-shared/video';
import type { Db } from '../db/connection';

interface FinishedData {
  durationSeconds?: number;
  timings?: Record<string, number>;
  engine?: { provider?: string };
  encoder?: string;
}

/**
 * The statistics of the original design: videos by status (from the library), and from the audit
 * log's finished renders the minutes of video made and the average speed (seconds of video per
 * second of rendering) per execution provider and per encoder.
 */
export async function readStats(db: Db): Promise<RenderStats> {
  const byStatus = Object.fromEntries(VIDEO_STATUSES.map((s) => [s, 0])) as Record<VideoStatus, number>;
  const counts = await db.selectFrom('videos').select(['status', db.fn.countAll<number>().as('n')]).groupBy('status').execute();
  for (const row of counts) byStatus[row.status] = Number(row.n);

  const events = await db.selectFrom('audit_log').select('data_json').where('type', '=', 'render.finished').execute();
  let finished = 0;
  let videoSeconds = 0;
  const groups = new Map<string, { by: 'provider' | 'encoder'; key: string; renders: number; speeds: number }>();
  for (const event of events) {
    let data: FinishedData;
    try {
      data = JSON.parse(event.data_json ?? '{}') as FinishedData;
    } catch {
      continue;
    }
    const seconds = data.durationSeconds ?? 0;
    const work = Object.values(data.timings ?? {}).reduce((sum, t) => sum + t, 0);
    finished++;
    videoSeconds += seconds;
    if (!(seconds > 0 && work > 0)) continue;
    for (const [by, key] of [
      ['provider', data.engine?.provider ?? 'unknown'],
      ['encoder', data.encoder ?? 'libx264'],
    ] as const) {
      const group = groups.get(`${by}:${key}`) ?? { by, key, renders: 0, speeds: 0 };
      group.renders++;
      group.speeds += seconds / work;
      groups.set(`${by}:${key}`, group);
    }
  }
  return {
    byStatus,
    finished,
    minutesOfVideo: videoSeconds / 60,
    speed: [...groups.values()].map(({ by, key, renders, speeds }) => ({ by, key, renders, videoSecondsPerSecond: speeds / renders })),
  };
}
