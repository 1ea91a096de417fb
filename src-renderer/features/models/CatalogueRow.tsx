import { invoke } from '../../api';
import { useStore } from '../../store';
import type { CatalogueEntry } from '../../../src-shared/model';
import { formatBytes } from './format';
import { useAction } from '../../components/useAction';

/** A downloadable model: size and licence before the download, then its progress, failure or arrival. */
export function CatalogueRow({ entry }: { entry: CatalogueEntry }) {
  const registered = useStore((state) => state.models[entry.id]);
  const progress = useStore((state) => state.modelProgress[entry.id]);
  const receiveModel = useStore((state) => state.receiveModel);
  const { busy, error, act } = useAction<'downloading' | 'cancelling'>();
  // The store hears every change as it happens; the entry is as fresh as the last catalogue read.
  const status = registered?.status ?? entry.status;

  // Main answers at once with the model 'downloading'; progress and the outcome come as events.
  const download = () => act('downloading', async () => receiveModel(await invoke('models:download', { modelId: entry.id })));
  const cancel = () =>
    act('cancelling', async () => {
      await invoke('models:cancel', { modelId: entry.id });
      useStore.getState().dropModel(entry.id);
    });

  const received = progress?.receivedBytes ?? registered?.receivedBytes ?? 0;
  const total = progress?.totalBytes ?? entry.bytes;

  return (
    <li className={`catalogue-entry catalogue-entry--${status ?? 'available'}`} aria-label={entry.name}>
      <div className="catalogue-entry__main">
        <div className="model__head">
          <h4 className="model__name">{entry.name}</h4>
          {!entry.commercialUse && <span className="badge badge--noncommercial">Not for commercial use</span>}
          {status === 'installed' && <span className="badge badge--ready">Installed</span>}
        </div>
        <p className="catalogue-entry__facts">
          <span>{formatBytes(entry.bytes)}</span>
          <span>version {entry.version}</span>
          {entry.language && <span>{entry.language}</span>}
        </p>
        <p className="catalogue-entry__licence">Licence: {entry.licence}</p>
      </div>

      <div className="catalogue-entry__side">
        {status === null && (
          <button type="button" className="button button--quiet" disabled={busy !== null} onClick={() => void download()}>
            Download ({formatBytes(entry.bytes)})
          </button>
        )}
        {(status === 'downloading' || status === 'verifying') && (
          <>
            <progress max={total} value={received} aria-label={`Downloading ${entry.name}`} />
            <span className="catalogue-entry__progress">
              {status === 'verifying' ? 'Checking the file…' : `${formatBytes(received)} of ${formatBytes(total)}`}
            </span>
            <button type="button" className="button button--quiet" disabled={busy !== null} onClick={() => void cancel()}>
              Cancel
            </button>
          </>
        )}
        {status === 'failed' && (
          <div className="model__actions">
            <button type="button" className="button button--quiet" disabled={busy !== null} onClick={() => void download()}>
              Retry
            </button>
            <button type="button" className="button button--quiet" disabled={busy !== null} onClick={() => void cancel()}>
              Discard
            </button>
          </div>
        )}
      </div>

      {status === 'failed' && (
        <p className="model__error catalogue-entry__failure" role="alert">
          The download failed: {registered?.error ?? 'main recorded no reason'}
        </p>
      )}
      {error && (
        <p className="model__error catalogue-entry__failure" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}
