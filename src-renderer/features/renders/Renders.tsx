import { useMemo } from 'react';
import { useStore } from '../../store';
import { sortRenders } from '../../store/videos';
import { Batches } from './Batches';
import { RenderRow } from './RenderRow';
import { RenderStats } from './RenderStats';

/** Every render (queued, running and finished) beside the statistics. */
export function Renders() {
  const videos = useStore((state) => state.videos);
  const loaded = useStore((state) => state.libraryLoaded);
  const loadError = useStore((state) => state.libraryError);
  const renders = useMemo(() => sortRenders(videos), [videos]);
  const running = renders.filter((video) => video.status === 'rendering').length;
  const queued = renders.filter((video) => video.status === 'queued').length;
  const count = [running && `${running} rendering`, queued && `${queued} queued`, `${renders.length} in all`].filter(Boolean).join(' · ');

  return (
    <>
      <section className="panel renders" aria-labelledby="renders-heading">
        <header className="panel__header">
          <h2 id="renders-heading">Renders</h2>
          {renders.length > 0 && <span className="panel__count">{count}</span>}
        </header>
        {loadError && (
          <p className="render__error" role="alert">
            The renders could not be loaded: {loadError}
          </p>
        )}
        {renders.length > 0 ? (
          <ul className="renders__list" aria-label="Renders">
            {renders.map((video) => (
              <RenderRow key={video.id} video={video} />
            ))}
          </ul>
        ) : (
          loaded && (
            <div className="library__empty">
              <p className="library__empty-title">No renders yet</p>
              <p>Renders you start from the Videos screen or the editor appear here, with their progress.</p>
            </div>
          )
        )}
      </section>
      <Batches />
      <RenderStats />
    </>
  );
}
