import { useState } from 'react';
import { invoke } from '../../api';
import { useStore } from '../../store';
import { isActive } from '../../store/videos';
import { openDraft } from '../editor/autosave';
import type { VideoSummary } from '../../../src-shared/video';
import { useAction } from '../../components/useAction';
import { fileUrl, formatDuration, formatWhen, paceText, STATUS_LABELS, stageText } from './format';

/** The finished video in a player, with a link to the file for where the page may not load files from disk. */
function Player({ video, path }: { video: VideoSummary; path: string }) {
  const [failed, setFailed] = useState(false);
  const url = fileUrl(path);
  return (
    <div className="render__player">
      {!failed && <video controls autoPlay src={url} aria-label={`Video of ${video.title}`} onError={() => setFailed(true)} />}
      <p className="render__player-note">
        {failed && 'This window could not play the file. '}
        <a href={url} target="_blank" rel="noreferrer">
          Open the file
        </a>
      </p>
    </div>
  );
}

/** One render on the Renders screen: where it is, how fast it goes, and what can be done with it. */
export function RenderRow({ video }: { video: VideoSummary }) {
  const receiveVideo = useStore((state) => state.receiveVideo);
  const progress = useStore((state) => state.renderProgress[video.id]);
  const batchTitle = useStore((state) => (video.batchId ? state.batches[video.batchId]?.title : undefined));
  const { busy, error: actionError, act } = useAction<'cancelling' | 'retrying' | 'revealing'>();
  const [revealed, setRevealed] = useState<string | null>(null);
  const [playing, setPlaying] = useState(false);
  const titleId = `render-${video.id}-title`;
  const active = isActive(video);
  const stopped = video.status === 'failed' || video.status === 'cancelled';
  const completed = video.status === 'completed';
  const percent = Math.round(Math.min(1, Math.max(0, video.progress)) * 100);
  const pace = video.status === 'rendering' ? paceText(progress) : '';
  const reason = video.error ?? (video.status === 'cancelled' ? 'Cancelled before it finished.' : null);

  const cancel = () => act('cancelling', async () => receiveVideo(await invoke('render:cancel', { videoId: video.id })));
  const retry = () =>
    act('retrying', async () => {
      setRevealed(null);
      setPlaying(false);
      receiveVideo(await invoke('render:start', { videoId: video.id }));
    });
  const reveal = () => act('revealing', async () => setRevealed((await invoke('render:reveal', { videoId: video.id })).path));

  return (
    <li className={`render render--${video.status}`} aria-labelledby={titleId}>
      <div className="render__head">
        <h3 className="render__title" id={titleId}>
          {video.title}
        </h3>
        <span className={`badge badge--${video.status}`}>{STATUS_LABELS[video.status]}</span>
      </div>

      <p className="render__meta">
        <time dateTime={video.updatedAt}>{formatWhen(video.updatedAt)}</time>
        {video.batchRow !== null && <span className="render__batch"> · row {video.batchRow} of {batchTitle ? `the batch “${batchTitle}”` : 'a batch'}</span>}
        {video.durationSeconds !== null && <span> · {formatDuration(video.durationSeconds)} of video</span>}
        {video.encoder && (
          <span className="render__encoder">
            {' · '}encoded with <code>{video.encoder}</code>
          </span>
        )}
      </p>

      {video.status === 'queued' && <p className="render__waiting">Waiting in the queue</p>}

      {video.status === 'rendering' && (
        <div className="render__progress">
          <div className="render__stage">
            <span className="render__stage-name">{video.stage ? stageText(video.stage) : 'Starting'}</span>
            <span className="render__percent">{percent}%</span>
          </div>
          <progress max={1} value={video.progress} aria-label={`Progress of ${video.title}`} />
          {pace && <p className="render__pace">{pace}</p>}
        </div>
      )}

      {(completed || stopped) && video.note && <p className="render__note">{video.note}</p>}

      {revealed && (
        <p className="render__revealed" role="status">
          <span className="render__label">File</span> <code>{revealed}</code>
        </p>
      )}

      {playing && video.outputPath && <Player video={video} path={video.outputPath} />}

      {actionError && (
        <p className="render__error" role="alert">
          {actionError}
        </p>
      )}

      <div className="render__actions">
        {stopped && reason && <p className={`render__reason render__reason--${video.status}`}>{reason}</p>}
        {active && (
          <button type="button" className="button button--quiet" disabled={busy !== null} onClick={() => void cancel()}>
            Cancel
          </button>
        )}
        {stopped && (
          <button type="button" className="button button--quiet" disabled={busy !== null} onClick={() => void openDraft(video.id)}>
            Edit
          </button>
        )}
        {stopped && (
          <button type="button" className="button button--quiet" disabled={busy !== null} onClick={() => void retry()}>
            Retry
          </button>
        )}
        {completed && (
          <>
            <button type="button" className="button button--quiet" disabled={busy !== null} onClick={() => void reveal()}>
              Show in folder
            </button>
            {video.outputPath && (
              <button type="button" className="button button--quiet" onClick={() => setPlaying(!playing)}>
                {playing ? 'Close player' : 'Play'}
              </button>
            )}
          </>
        )}
      </div>
    </li>
  );
}
