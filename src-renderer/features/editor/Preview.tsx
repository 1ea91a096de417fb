import { useEffect, useRef, useState } from 'react';
import { invoke } from '../../api';
import type { EditorProject } from '../../store/editor';
import type { Format } from '../../../src-shared/project';

/** The preview waits for a pause in the edits: each one runs the real pipeline for a frame. */
const PREVIEW_DELAY_MS = 700;

type Still = { url: string; width: number; height: number };
type PreviewState = { kind: 'idle' } | { kind: 'loading'; last: Still | null } | { kind: 'ok'; still: Still } | { kind: 'failed'; message: string; last: Still | null };

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** A still of the selected scene from editor:preview, redrawn shortly after the project changes. */
export function Preview({ project, sceneIndex, format }: { project: EditorProject; sceneIndex: number; format: Format }) {
  const [state, setState] = useState<PreviewState>({ kind: 'idle' });
  const latest = useRef(0);

  useEffect(() => {
    const request = ++latest.current;
    setState((current) => ({ kind: 'loading', last: current.kind === 'ok' ? current.still : current.kind === 'idle' ? null : current.last }));
    const timer = setTimeout(() => {
      invoke('editor:preview', { project, sceneIndex }).then(
        (still) => {
          if (request === latest.current) setState({ kind: 'ok', still });
        },
        (error: unknown) => {
          if (request === latest.current) setState((current) => ({ kind: 'failed', message: messageOf(error), last: current.kind === 'loading' ? current.last : null }));
        },
      );
    }, PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
  }, [project, sceneIndex]);

  const still = state.kind === 'ok' ? state.still : state.kind === 'idle' ? null : state.last;
  return (
    <section className="preview" aria-label="Preview">
      <div className="preview__frame" aria-busy={state.kind === 'loading'}>
        {still ? (
          <img className="preview__image" src={still.url} width={still.width} height={still.height} alt={`Preview of scene ${sceneIndex + 1}`} />
        ) : (
          <div className={`preview__empty preview__empty--${format.replace(':', 'x')}`}>{state.kind === 'failed' ? 'No preview' : ''}</div>
        )}
        {state.kind === 'loading' && (
          <span className="preview__status" role="status">
            <span className="spinner" aria-hidden="true" /> Drawing the preview…
          </span>
        )}
      </div>
      {state.kind === 'failed' && (
        <p className="preview__error" role="alert">
          The preview could not be made: {state.message}
        </p>
      )}
    </section>
  );
}
