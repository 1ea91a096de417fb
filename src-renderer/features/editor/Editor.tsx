import { useCallback, useEffect, useState } from 'react';
import { invoke } from '../../api';
import { takeValue } from '../../components/fields';
import { loadAccount, useStore } from '../../store';
import { without, type EditorProject, type SceneDraft } from '../../store/editor';
import { errorCode } from '../../../src-shared/errors';
import { saveNow, saveOrThrow, useAutosave } from './autosave';
import { WriteForMe } from './Assistant';
import { BatchPanel } from './Batch';
import { Preview } from './Preview';
import { ProjectFields } from './ProjectFields';
import { RenderBar, type RenderRefusal } from './RenderBar';
import { SceneFields } from './SceneFields';
import { SceneList } from './SceneList';
import { TemplatePicker, type TemplatesState } from './TemplatePicker';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** What the editor writes in a new project's first scene, so it renders as it is. */
export const STARTER_SCENE = 'Hello! Write here what the presenter says in this scene.';

/** A saved draft as the editor can hold it: whatever main kept, with a list of scenes that have text. */
function editable(saved: unknown): EditorProject {
  const project = (saved && typeof saved === 'object' ? saved : {}) as Partial<EditorProject>;
  const scenes = Array.isArray(project.scenes) ? project.scenes.filter((s): s is SceneDraft => !!s && typeof s === 'object').map((s) => ({ ...s, text: typeof s.text === 'string' ? s.text : '' })) : [];
  return { ...project, scenes: scenes.length > 0 ? scenes : [{ text: '' }] };
}

function useTemplates(active: boolean): [TemplatesState, () => Promise<void>] {
  const [state, setState] = useState<TemplatesState>({ templates: [], loaded: false, error: null });
  const load = useCallback(async () => {
    try {
      const templates = await invoke('templates:list', {});
      setState({ templates, loaded: true, error: null });
    } catch (error) {
      setState((current) => ({ ...current, error: messageOf(error) }));
    }
  }, []);
  useEffect(() => {
    if (active) void load();
  }, [active, load]);
  return [state, load];
}

function SaveIndicator() {
  const saveState = useStore((state) => state.saveState);
  const text = { saved: 'Saved', unsaved: 'Editing…', saving: 'Saving…', failed: 'Not saved' }[saveState.kind];
  return (
    <span className={`save-state save-state--${saveState.kind}`} role="status" title={saveState.kind === 'failed' ? saveState.message : undefined}>
      {text}
      {saveState.kind === 'failed' && <span className="save-state__error">: {saveState.message}</span>}
    </span>
  );
}

/**
 * The editor of one draft: its scenes on the left, the selected scene and its preview in the
 * middle, the whole video's settings and the Render button on the right. Every edit is saved as
 * it is made; Ctrl+Z and Ctrl+Shift+Z undo and redo.
 */
export function Editor({ active, onClose }: { active: boolean; onClose(): void }) {
  const videoId = useStore((state) => state.editorVideoId);
  const project = useStore((state) => state.project);
  const selected = useStore((state) => state.selectedScene);
  const canUndo = useStore((state) => state.past.length > 0);
  const canRedo = useStore((state) => state.future.length > 0);
  const { loadProject, closeEditor, edit, undo, redo, receiveVideo } = useStore.getState();
  const [loadError, setLoadError] = useState<string | null>(null);
  const [templates, reloadTemplates] = useTemplates(active && videoId !== null);
  const account = useStore((state) => state.account);
  const accountError = useStore((state) => state.accountError);
  const showScreen = useStore((state) => state.showScreen);
  const [rendering, setRendering] = useState(false);
  const [renderError, setRenderError] = useState<RenderRefusal | null>(null);
  useAutosave();

  useEffect(() => {
    if (!videoId) return;
    let current = true;
    setLoadError(null);
    setRenderError(null);
    invoke('videos:get', { videoId }).then(
      ({ project: saved }) => {
        if (current) loadProject(editable(saved));
      },
      (error: unknown) => {
        if (current) setLoadError(messageOf(error));
      },
    );
    return () => {
      current = false;
    };
  }, [videoId, loadProject]);

  // Credits change with renders made elsewhere in the app; read them afresh each time the editor is shown.
  useEffect(() => {
    if (active && videoId !== null) void loadAccount();
  }, [active, videoId]);

  useEffect(() => {
    if (!active) return;
    const onKey = (event: KeyboardEvent) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
      const key = event.key.toLowerCase();
      // The editor's own undo replaces the text fields' native one, which knows one field only.
      if (key === 'z' && !event.shiftKey) {
        event.preventDefault();
        undo();
      } else if ((key === 'z' && event.shiftKey) || key === 'y') {
        event.preventDefault();
        redo();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [active, undo, redo]);

  async function close() {
    await saveNow();
    // Closing with edits main refused would lose them; the indicator says why they were refused.
    if (useStore.getState().saveState.kind === 'failed') return;
    closeEditor();
    onClose();
  }

  async function render() {
    if (!videoId) return;
    setRendering(true);
    setRenderError(null);
    try {
      await saveOrThrow();
      receiveVideo(await invoke('render:start', { videoId }));
      // The library shows the render's progress from here.
      closeEditor();
      onClose();
    } catch (error) {
      const message = messageOf(error);
      setRenderError({ code: errorCode(error), message });
      // Main names the field as project.scenes.N...; show that scene.
      const scene = /\bscenes\.(\d+)\b/.exec(message);
      if (scene) useStore.getState().selectScene(Number(scene[1]));
    } finally {
      setRendering(false);
    }
  }

  if (!videoId) return null;

  if (loadError) {
    return (
      <section className="panel editor-message" aria-label="Editor">
        <p className="compose__error" role="alert">
          This video could not be opened: {loadError}
        </p>
        <button
          type="button"
          className="button button--quiet"
          onClick={() => {
            closeEditor();
            onClose();
          }}
        >
          Back to videos
        </button>
      </section>
    );
  }

  if (!project) {
    return (
      <section className="panel editor-message" aria-label="Editor">
        <p className="choice__status" role="status">
          <span className="spinner" aria-hidden="true" /> Opening the video…
        </p>
      </section>
    );
  }

  const templateId = project.template ?? 'studio';
  const summary = templates.templates.find((t) => t.id === templateId);
  const template = summary?.template;

  return (
    <section className="editor" aria-label="Editor" onBlur={() => void saveNow()}>
      <header className="editor__bar">
        <label className="editor__title">
          <span className="visually-hidden">Title</span>
          <input
            type="text"
            value={project.title ?? ''}
            maxLength={200}
            placeholder="Untitled video"
            onChange={takeValue((title) => edit((p) => (title ? { ...p, title } : without(p, 'title')), 'title'))}
          />
        </label>
        <SaveIndicator />
        <WriteForMe />
        <div className="editor__history">
          <button type="button" className="button button--quiet" disabled={!canUndo} onClick={undo} title="Ctrl+Z">
            Undo
          </button>
          <button type="button" className="button button--quiet" disabled={!canRedo} onClick={redo} title="Ctrl+Shift+Z">
            Redo
          </button>
        </div>
        <button type="button" className="button button--quiet" onClick={() => void close()}>
          Close editor
        </button>
      </header>
      <div className="editor__columns">
        <SceneList />
        <div className="panel editor__centre">
          <Preview project={project} sceneIndex={selected} format={project.format ?? summary?.format ?? '16:9'} />
          <SceneFields template={template} />
        </div>
        <aside className="panel editor__side" aria-label="Video settings">
          <RenderBar project={project} account={account} accountError={accountError} busy={rendering} error={renderError} onRender={() => void render()} onOpenAccount={() => showScreen('account')} />
          <BatchPanel
            key={videoId}
            videoId={videoId}
            project={project}
            onStarted={() => {
              // The batch's progress is on the Renders screen; the draft stays in the library for the next batch.
              closeEditor();
              onClose();
              showScreen('renders');
            }}
          />
          <TemplatePicker
            state={templates}
            value={templateId}
            onChoose={(id) => edit((p) => ({ ...without(p, 'format'), template: id }))}
            onChanged={reloadTemplates}
          />
          <ProjectFields template={template} account={account} />
        </aside>
      </div>
    </section>
  );
}
