import { useEffect, useState } from 'react';
import { invoke } from '../../api';
import { formatBytes } from '../models/format';
import { useStore } from '../../store';
import type { CatalogueEntry } from '../../../src-shared/model';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Before the first photo avatar: the face models it needs that are not on this machine yet, with
 * their size and a Download button. Importing a photo works without this (main downloads them on
 * demand); the offer only lets the user fetch them before, while choosing a photo.
 */
export function FaceModelsOffer() {
  const revision = useStore((state) => state.modelsRevision);
  const models = useStore((state) => state.models);
  const progress = useStore((state) => state.modelProgress);
  const receiveModel = useStore((state) => state.receiveModel);
  const [missing, setMissing] = useState<CatalogueEntry[] | null>(null);
  const [asked, setAsked] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    invoke('models:missing', { purpose: 'photo-avatar' }).then(
      (entries) => current && setMissing(entries),
      // Only an offer: when main cannot say, importing still downloads what is needed.
      () => current && setMissing([]),
    );
    return () => {
      current = false;
    };
  }, [revision]);

  if (missing === null) return null;
  if (missing.length === 0) {
    return asked ? (
      <p className="face-models face-models--ready" role="status">
        The face models are installed; photo avatars are prepared without waiting for a download.
      </p>
    ) : null;
  }

  const total = missing.reduce((n, entry) => n + entry.bytes, 0);
  const statusOf = (entry: CatalogueEntry) => models[entry.id]?.status ?? entry.status;
  const downloading = missing.some((entry) => statusOf(entry) === 'downloading' || statusOf(entry) === 'verifying');
  const failures = missing.filter((entry) => statusOf(entry) === 'failed');
  const received = missing.reduce((n, entry) => {
    if (statusOf(entry) === 'installed') return n + entry.bytes;
    return n + (progress[entry.id]?.receivedBytes ?? (statusOf(entry) === 'downloading' ? (models[entry.id]?.receivedBytes ?? 0) : 0));
  }, 0);

  async function download(entries: CatalogueEntry[]) {
    setAsked(true);
    setError(null);
    try {
      // Main answers each at once with the model 'downloading'; progress and the outcome come as events.
      for (const entry of entries) {
        if (statusOf(entry) !== 'downloading' && statusOf(entry) !== 'verifying') receiveModel(await invoke('models:download', { modelId: entry.id }));
      }
    } catch (failure) {
      setError(messageOf(failure));
    }
  }

  return (
    <div className="face-models" role="region" aria-label="Face models">
      <div className="face-models__text">
        <p className="face-models__title">Photo avatars need face models ({formatBytes(total)})</p>
        <ul className="face-models__list">
          {missing.map((entry) => (
            <li key={entry.id}>
              <span className="face-models__name">{entry.name}</span> · {formatBytes(entry.bytes)} · {entry.licence}
            </li>
          ))}
        </ul>
        <p className="face-models__hint">Download them now, or import a photo and they are downloaded then.</p>
      </div>
      {downloading ? (
        <div className="face-models__progress">
          <progress max={total} value={received} aria-label="Downloading the face models" />
          <span>
            {formatBytes(received)} of {formatBytes(total)}
          </span>
        </div>
      ) : (
        <button type="button" className="button button--quiet" onClick={() => void download(missing)}>
          {failures.length > 0 ? 'Retry the download' : `Download (${formatBytes(total)})`}
        </button>
      )}
      {failures.map((entry) => (
        <p key={entry.id} className="face-models__error" role="alert">
          {entry.name}: {models[entry.id]?.error ?? 'the download failed'}
        </p>
      ))}
      {error && (
        <p className="face-models__error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
