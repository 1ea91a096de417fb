import { useMemo } from 'react';
import { useStore } from '../../store';
import { sortVideos } from '../../store/videos';
import { VideoItem } from './VideoItem';

export function Library() {
  const videos = useStore((state) => state.videos);
  const loaded = useStore((state) => state.libraryLoaded);
  const loadError = useStore((state) => state.libraryError);
  const list = useMemo(() => sortVideos(videos), [videos]);

  return (
    <section className="panel library" aria-labelledby="library-heading">
      <header className="panel__header">
        <h2 id="library-heading">Library</h2>
        {list.length > 0 && <span className="panel__count">{list.length === 1 ? '1 video' : `${list.length} videos`}</span>}
      </header>

      {loadError && (
        <p className="library__error" role="alert">
          The library could not be loaded: {loadError}
        </p>
      )}

      {list.length > 0 ? (
        <ul className="library__list" aria-label="Videos">
          {list.map((video) => (
            <VideoItem key={video.id} video={video} />
          ))}
        </ul>
      ) : (
        loaded && (
          <div className="library__empty">
            <p className="library__empty-title">No videos yet</p>
            <p>Write a script and press Render; your videos will appear here.</p>
          </div>
        )
      )}
    </section>
  );
}
