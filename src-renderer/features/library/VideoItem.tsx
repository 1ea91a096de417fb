import { useState } from 'react';
import { invoke } from '../../api';
import { CreditsRefusal } from '../../components/CreditsNotice';
import { useStore } from '../../store';
import { isCreditsRefusal } from '../../store/account';
import { errorCode } from '../../../src-shared/errors';
import { openDraft } from '../editor/autosave';
import type { VideoSummary } from '../../../src-shared/video';
import { formatDuration, STAGE_LABELS, STATUS_LABELS } from '../renders/format';

function formatCreated(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function VideoItem({ video }: { video: VideoSummary }) {
  const receiveVideo = useStore((state) => state.receiveVideo);
  const [actionError, setActionError] = useState<{ code?: string; message: string } | null>(null);
  const account = useStore((state) => state.account);
  const showScreen = useStore((state) => state.showScreen);
  const [busy, setBusy] = useState(false);
  const titleId = `video-${video.id}-title`;
  const active = video.status === 'queued' || video.status === 'rendering';
  const canRender = video.status === 'draft' || video.status === 'failed' || video.status === 'cancelled';
  const canEdit = canRender || video.status === 'completed';
  const percent = Math.round(Math.min(1, Math.max(0, video.progress)) * 100);

  async function run(channel: 'render:start' | 'render:cancel') {
    setBusy(true);
    setActionError(null);
    try {
      receiveVideo(await invoke(channel, { videoId: video.id }));
    } catch (error) {
      setActionError({ code: errorCode(error), message: error instanceof Error ? error.message : String(error) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <li className={`video video--${video.status}`} aria-labelledby={titleId}>
      <div className="video__head">
        <h3 className="video__title" id={titleId}>
          {video.title}
        </h3>
        <span className={`badge badge--${video.status}`}>{STATUS_LABELS[video.status]}</span>
      </div>

      <p className="video__meta">
        <time dateTime={video.createdAt}>{formatCreated(video.createdAt)}</time>
        {video.durationSeconds !== null && <span> · {formatDuration(video.durationSeconds)}</span>}
      </p>

      {active && (
        <div className="video__progress">
          <div className="video__stage">
            <span>{video.stage ? STAGE_LABELS[video.stage] : 'Waiting to start'}</span>
            <span className="video__percent">{percent}%</span>
          </div>
          <progress max={1} value={video.progress} aria-label={`Progress of ${video.title}`} />
        </div>
      )}

      {video.status === 'failed' && video.error && <p className="video__error">{video.error}</p>}

      {video.status === 'completed' && video.outputPath && (
        <p className="video__output">
          <span className="video__output-label">Saved to</span>
          <code>{video.outputPath}</code>
        </p>
      )}

      {video.status === 'completed' && video.encoder && (
        <p className="video__encoder">
          <span className="video__output-label">Encoded with</span> <code>{video.encoder}</code>
        </p>
      )}

      {(video.status === 'completed' || video.status === 'failed') && video.note && <p className="video__note">{video.note}</p>}

      {actionError && isCreditsRefusal(actionError) && <CreditsRefusal message={actionError.message} account={account} onOpenAccount={() => showScreen('account')} />}
      {actionError && !isCreditsRefusal(actionError) && (
        <p className="video__error" role="alert">
          {actionError.message}
        </p>
      )}

      {(active || canEdit) && (
        <div className="video__actions">
          {canEdit && (
            <button type="button" className="button button--quiet" disabled={busy} onClick={() => void openDraft(video.id)}>
              Edit
            </button>
          )}
          {active && (
            <button type="button" className="button button--quiet" disabled={busy} onClick={() => void run('render:cancel')}>
              Cancel
            </button>
          )}
          {canRender && (
            <button type="button" className="button button--quiet" disabled={busy} onClick={() => void run('render:start')}>
              {video.status === 'draft' ? 'Render' : 'Render again'}
            </button>
          )}
        </div>
      )}
    </li>
  );
}
