import { useEffect } from 'react';
import { invoke } from '../../api';
import { useStore } from '../../store';

/** How long typing must pause before the project is saved. */
const SAVE_DELAY_MS = 400;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

let inFlight: Promise<void> | null = null;

/**
 * Save the open project if it changed since the last save, after any save already on its way (so
 * an older project never lands after a newer one). Resolves once main holds the latest edits; a
 * failure is shown by the indicator and retried on the next edit or flush.
 */
export async function saveNow(): Promise<void> {
  while (inFlight) await inFlight;
  const { editorVideoId, project, revision, savedRevision } = useStore.getState();
  if (!editorVideoId || !project || revision === savedRevision) return;
  const { markSaving, markSaved, markSaveFailed, receiveVideo } = useStore.getState();
  markSaving();
  inFlight = (async () => {
    try {
      const video = await invoke('videos:save', { videoId: editorVideoId, project });
      // The editor may have moved to another draft while this one was saving.
      if (useStore.getState().editorVideoId !== editorVideoId) return;
      receiveVideo(video);
      markSaved(revision);
    } catch (error) {
      if (useStore.getState().editorVideoId === editorVideoId) markSaveFailed(messageOf(error));
    }
  })();
  try {
    await inFlight;
  } finally {
    inFlight = null;
  }
}

/** Save now, and throw when main refused the edits: for what reads the saved project (a render, a batch). */
export async function saveOrThrow(): Promise<void> {
  await saveNow();
  const state = useStore.getState().saveState;
  if (state.kind === 'failed') throw new Error(`the project could not be saved: ${state.message}`);
}

/** Open a draft in the editor, once the one open before it has saved what was typed. */
export async function openDraft(videoId: string): Promise<void> {
  await saveNow();
  useStore.getState().openEditor(videoId);
}

/**
 * Save every edit shortly after it is made, and at once when the window loses focus, is hidden
 * or is closed, so nothing typed is lost to a crash or a closed window.
 */
export function useAutosave(): void {
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      clearTimeout(timer);
      void saveNow().then(() => {
        // Edits made while that save was on its way are saved in turn.
        const state = useStore.getState();
        if (state.revision !== state.savedRevision && state.saveState.kind !== 'failed') schedule();
      });
    };
    const schedule = () => {
      clearTimeout(timer);
      timer = setTimeout(flush, SAVE_DELAY_MS);
    };
    const stop = useStore.subscribe((state, previous) => {
      if (state.revision !== previous.revision && state.project) schedule();
    });
    const onHidden = () => {
      if (document.visibilityState === 'hidden') flush();
    };
    window.addEventListener('blur', flush);
    window.addEventListener('pagehide', flush);
    document.addEventListener('visibilitychange', onHidden);
    return () => {
      stop();
      window.removeEventListener('blur', flush);
      window.removeEventListener('pagehide', flush);
      document.removeEventListener('visibilitychange', onHidden);
      flush();
    };
  }, []);
}
