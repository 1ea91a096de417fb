import { invoke } from '../../api';
import { StatTotals } from '../../components/StatTotals';
import { useLoad } from '../../components/useLoad';
import { useStore } from '../../store';
import type { RenderStats as Stats } from '../../../src-shared/video';
import { formatSpeed, formatVideoMade, STATUS_LABELS } from './format';

const SHOWN_STATUSES = ['queued', 'rendering', 'completed', 'failed', 'cancelled', 'draft'] as const;

function SpeedTable({ stats, by, caption, heading }: { stats: Stats; by: 'provider' | 'encoder'; caption: string; heading: string }) {
  const rows = stats.speed.filter((row) => row.by === by).sort((a, b) => b.renders - a.renders || a.key.localeCompare(b.key));
  if (rows.length === 0) return null;
  return (
    <table className="stats__speed">
      <caption>{caption}</caption>
      <colgroup>
        <col className="stats__col-key" />
        <col className="stats__col-renders" />
        <col />
      </colgroup>
      <thead>
        <tr>
          <th scope="col">{heading}</th>
          <th scope="col">Renders</th>
          <th scope="col">Speed</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.key}>
            <th scope="row">
              <code>{row.key}</code>
              {by === 'provider' && row.key === 'none' && <span className="stats__key-note"> (no model)</span>}
            </th>
            <td>{row.renders}</td>
            <td>{formatSpeed(row.videoSecondsPerSecond)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The statistics of the original design, read from main again whenever a video's status changes. */
export function RenderStats() {
  // Statuses only: progress events change the videos often, and they change no statistic.
  const statuses = useStore((state) =>
    Object.values(state.videos)
      .map((video) => `${video.id}:${video.status}`)
      .sort()
      .join(','),
  );
  const load = useLoad<Stats>(() => invoke('stats:get', {}), [statuses]);

  return (
    <section className="panel stats" aria-labelledby="stats-heading">
      <header className="panel__header">
        <h2 id="stats-heading">Statistics</h2>
      </header>
      {load.kind === 'loading' && <p className="stats__hint">Reading the statistics…</p>}
      {load.kind === 'failed' && (
        <p className="render__error" role="alert">
          The statistics could not be read: {load.message}
        </p>
      )}
      {load.kind === 'loaded' && (
        <>
          <StatTotals
            totals={[
              { label: 'Completed', value: load.value.finished, testId: 'stats-finished' },
              { label: 'Video made', value: formatVideoMade(load.value.minutesOfVideo), testId: 'stats-video-made' },
            ]}
          />

          <h3 className="stats__heading">Videos by status</h3>
          <ul className="stats__statuses" aria-label="Videos by status">
            {SHOWN_STATUSES.map((status) => (
              <li key={status} className="stats__status" aria-label={`${STATUS_LABELS[status]}: ${load.value.byStatus[status]}`}>
                <span className={`badge badge--${status}`}>{STATUS_LABELS[status]}</span>
                <span className="stats__count">{load.value.byStatus[status]}</span>
              </li>
            ))}
          </ul>

          <h3 className="stats__heading">Average speed</h3>
          {load.value.speed.length === 0 ? (
            <p className="stats__hint">Speeds appear once a render has finished.</p>
          ) : (
            <>
              <p className="stats__hint">Seconds of video made per second of rendering.</p>
              <SpeedTable stats={load.value} by="provider" caption="By execution provider" heading="Provider" />
              <SpeedTable stats={load.value} by="encoder" caption="By encoder" heading="Encoder" />
            </>
          )}
        </>
      )}
    </section>
  );
}
