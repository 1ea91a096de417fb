import { useMemo, useState } from 'react';
import { invoke } from '../../api';
import { useStore } from '../../store';
import { sortBatches } from '../../store/batches';
import type { BatchStatus, BatchSummary } from '../../../src-shared/batch';
import type { VideoSummary } from '../../../src-shared/video';
import { useAction } from '../../components/useAction';
import { formatWhen } from './format';
import './Batches.css';

const BATCH_STATUS_LABELS: Record<BatchStatus, string> = {
  rendering: 'Rendering',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** "3 of 20 made · 1 failed · 2 cancelled" */
export function countsText(batch: Pick<BatchSummary, 'rows' | 'completed' | 'failed' | 'cancelled'>): string {
  const parts = [`${batch.completed} of ${batch.rows} made`];
  if (batch.failed > 0) parts.push(`${batch.failed} failed`);
  if (batch.cancelled > 0) parts.push(`${batch.cancelled} cancelled`);
  return parts.join(' · ');
}

/**
 * The batch's progress with its rows' own: main's summary moves when a row starts or ends, the
 * rows' render:progress events in between.
 */
function liveProgress(batch: BatchSummary, videos: Record<string, VideoSummary>): number {
  if (batch.status !== 'rendering' || batch.rows === 0) return batch.progress;
  let made = 0;
  for (const id of batch.videoIds) {
    const video = videos[id];
    if (!video) return batch.progress;
    made += video.status === 'queued' || video.status === 'rendering' ? video.progress : 1;
  }
  return Math.max(batch.progress, made / batch.rows);
}

/** One batch: its progress as a whole, Cancel while it renders, and where its results CSV is. */
function BatchRow({ batch }: { batch: BatchSummary }) {
  const receiveBatch = useStore((state) => state.receiveBatch);
  const { busy, error: actionError, act } = useAction<'cancelling' | 'revealing'>();
  const [revealed, setRevealed] = useState<string | null>(null);
  const videos = useStore((state) => state.videos);
  const titleId = `batch-${batch.id}-title`;
  const percent = Math.round(Math.min(1, Math.max(0, liveProgress(batch, videos))) * 100);
  const ended = batch.completed + batch.failed + batch.cancelled;

  const cancel = () => act('cancelling', async () => receiveBatch(await invoke('batches:cancel', { batchId: batch.id })));
  const reveal = () => act('revealing', async () => setRevealed((await invoke('batches:reveal', { batchId: batch.id })).path));

  return (
    <li className={`render batch-row render--${batch.status}`} aria-labelledby={titleId}>
      <div className="render__head">
        <h3 className="render__title" id={titleId}>
          {batch.title}
        </h3>
        <span className={`badge badge--${batch.status}`}>{batch.status === 'failed' && batch.completed > 0 ? 'Some failed' : BATCH_STATUS_LABELS[batch.status]}</span>
      </div>
      <p className="render__meta">
        <time dateTime={batch.createdAt}>{formatWhen(batch.createdAt)}</time>
        {' · '}
        {batch.rows === 1 ? '1 row' : `${batch.rows} rows`} · into <code>{batch.outDir}</code>
      </p>
      <div className="batch-row__progress">
        <div className="render__stage">
          <span className="batch-row__counts">{countsText(batch)}</span>
          <span className="render__percent">{percent}%</span>
        </div>
        <div className="batch-row__bar" role="progressbar" aria-label={`Progress of ${batch.title}`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
          <div className="batch-row__fill" style={{ width: `${percent}%` }} />
        </div>
      </div>

      {revealed && (
        <p className="render__revealed" role="status">
          <span className="render__label">Results</span> <code>{revealed}</code>
        </p>
      )}
      {actionError && (
        <p className="render__error" role="alert">
          {actionError}
        </p>
      )}

      <div className="render__actions">
        {batch.status === 'rendering' && (
          <button type="button" className="button button--quiet" disabled={busy !== null} onClick={() => void cancel()}>
            Cancel
          </button>
        )}
        {/* The results CSV is written as rows end, so there is something to show once one has. */}
        {ended > 0 && (
          <button type="button" className="button button--quiet" disabled={busy !== null} onClick={() => void reveal()}>
            Show results
          </button>
        )}
      </div>
    </li>
  );
}

/** Batches newest first, each with its progress, Cancel and results CSV; nothing when there are none. */
export function Batches() {
  const batches = useStore((state) => state.batches);
  const loadError = useStore((state) => state.batchesError);
  const sorted = useMemo(() => sortBatches(batches), [batches]);
  if (sorted.length === 0 && !loadError) return null;
  const running = sorted.filter((batch) => batch.status === 'rendering').length;

  return (
    <section className="panel batches" aria-labelledby="batches-heading">
      <header className="panel__header">
        <h2 id="batches-heading">Batches</h2>
        {sorted.length > 0 && <span className="panel__count">{[running && `${running} rendering`, `${sorted.length} in all`].filter(Boolean).join(' · ')}</span>}
      </header>
      {loadError && (
        <p className="render__error" role="alert">
          The batches could not be loaded: {loadError}
        </p>
      )}
      <ul className="renders__list" aria-label="Batches">
        {sorted.map((batch) => (
          <BatchRow key={batch.id} batch={batch} />
        ))}
      </ul>
    </section>
  );
}
