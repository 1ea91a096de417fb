import type { StateCreator } from 'zustand';
import type { ProjectInput } from '../../src-shared/project';

/** One scene as the editor holds it: anything the user may have half-typed. */
export type SceneDraft = NonNullable<ProjectInput['scenes']>[number];

/** The project as the editor holds it; saved as it is (videos:save is lenient), checked on render. */
export type EditorProject = Omit<ProjectInput, 'scenes'> & { scenes: SceneDraft[] };

/** What one undo step restores: the project and the keys React tells its scenes apart by. */
export interface Snapshot {
  project: EditorProject;
  sceneKeys: string[];
}

export type SaveState = { kind: 'saved' } | { kind: 'unsaved' } | { kind: 'saving' } | { kind: 'failed'; message: string };

export interface EditorSlice {
  /** The draft open in the editor, remembered across reloads; null when none is. */
  editorVideoId: string | null;
  /** Counts the times a draft was asked to be shown, so the app switches to the editor each time. */
  editorShown: number;
  /** Its project once videos:get has answered. */
  project: EditorProject | null;
  /** A key per scene, in scene order, so a moved scene keeps its row and its text area. */
  sceneKeys: string[];
  selectedScene: number;
  past: Snapshot[];
  future: Snapshot[];
  /** Edits since the last save, counted so a save that finishes knows whether another is due. */
  revision: number;
  savedRevision: number;
  saveState: SaveState;
  openEditor(videoId: string): void;
  closeEditor(): void;
  loadProject(project: EditorProject): void;
  /**
   * Change the project. Edits with the same `coalesce` key made close together (the keystrokes of
   * one burst of typing) are one undo step.
   */
  edit(change: (project: EditorProject) => EditorProject, coalesce?: string): void;
  /** Change the list of scenes (add, move, delete), with the keys of its rows moved alike. */
  editScenes(change: (project: EditorProject, sceneKeys: string[]) => Snapshot): void;
  selectScene(index: number): void;
  undo(): void;
  redo(): void;
  markSaving(): void;
  markSaved(revision: number): void;
  markSaveFailed(message: string): void;
}

const OPEN_DRAFT = 'mouthpiece.editor.video';
const MAX_UNDO = 200;
/** Typing paused longer than this starts a new undo step. */
const COALESCE_MS = 2000;

/** The draft the editor had open before the page was reloaded (or the app closed). */
export function rememberedDraft(): string | null {
  try {
    return localStorage.getItem(OPEN_DRAFT);
  } catch {
    // Storage switched off: the editor opens on the library instead, and nothing typed is lost
    // because every edit is already saved in main.
    return null;
  }
}

function rememberDraft(videoId: string | null): void {
  try {
    if (videoId) localStorage.setItem(OPEN_DRAFT, videoId);
    else localStorage.removeItem(OPEN_DRAFT);
  } catch {
    // As above.
  }
}

let keyCount = 0;
/** A fresh key for a scene row. */
export function newSceneKey(): string {
  keyCount += 1;
  return `scene-${keyCount}`;
}

let lastCoalesce: { key: string; at: number } | null = null;

const snapshotOf = (state: Pick<EditorSlice, 'project' | 'sceneKeys'>): Snapshot => ({ project: state.project!, sceneKeys: state.sceneKeys });

/** A project just opened: its first scene selected, no undo history, nothing to save. */
const UNTOUCHED: Pick<EditorSlice, 'selectedScene' | 'past' | 'future' | 'revision' | 'savedRevision' | 'saveState'> = {
  selectedScene: 0,
  past: [],
  future: [],
  revision: 0,
  savedRevision: 0,
  saveState: { kind: 'saved' },
};

export const createEditorSlice: StateCreator<EditorSlice, [], [], EditorSlice> = (set, get) => {
  /** Make `next` the current state, as a new undo step or, for a burst of typing, the same one. */
  function apply(next: Snapshot, coalesce?: string): void {
    const state = get();
    if (next.project === state.project && next.sceneKeys === state.sceneKeys) return;
    const now = Date.now();
    const merge = coalesce !== undefined && lastCoalesce?.key === coalesce && now - lastCoalesce.at < COALESCE_MS && state.past.length > 0;
    lastCoalesce = coalesce === undefined ? null : { key: coalesce, at: now };
    set({
      project: next.project,
      sceneKeys: next.sceneKeys,
      selectedScene: Math.min(state.selectedScene, next.project.scenes.length - 1),
      past: merge ? state.past : [...state.past, snapshotOf(state)].slice(-MAX_UNDO),
      future: [],
      revision: state.revision + 1,
      saveState: state.saveState.kind === 'saving' ? state.saveState : { kind: 'unsaved' },
    });
  }

  return {
    editorVideoId: rememberedDraft(),
    editorShown: 0,
    project: null,
    sceneKeys: [],
    ...UNTOUCHED,
    openEditor: (videoId) => {
      // The draft already open keeps its undo history.
      if (get().editorVideoId === videoId && get().project) return set((state) => ({ editorShown: state.editorShown + 1 }));
      rememberDraft(videoId);
      lastCoalesce = null;
      set((state) => ({ editorVideoId: videoId, editorShown: state.editorShown + 1, project: null, sceneKeys: [], ...UNTOUCHED }));
    },
    closeEditor: () => {
      rememberDraft(null);
      set({ editorVideoId: null, project: null, sceneKeys: [], past: [], future: [] });
    },
    loadProject: (project) => {
      lastCoalesce = null;
      set({
        project,
        sceneKeys: project.scenes.map(() => newSceneKey()),
        ...UNTOUCHED,
      });
    },
    edit: (change, coalesce) => {
      const { project, sceneKeys } = get();
      if (project) apply({ project: change(project), sceneKeys }, coalesce);
    },
    editScenes: (change) => {
      const { project, sceneKeys } = get();
      if (project) apply(change(project, sceneKeys));
    },
    selectScene: (index) => set((state) => ({ selectedScene: Math.max(0, Math.min(index, (state.project?.scenes.length ?? 1) - 1)) })),
    undo: () =>
      set((state) => {
        const previous = state.past.at(-1);
        if (!previous || !state.project) return state;
        lastCoalesce = null;
        return {
          ...previous,
          selectedScene: Math.min(state.selectedScene, previous.project.scenes.length - 1),
          past: state.past.slice(0, -1),
          future: [snapshotOf(state), ...state.future],
          revision: state.revision + 1,
          saveState: state.saveState.kind === 'saving' ? state.saveState : { kind: 'unsaved' },
        };
      }),
    redo: () =>
      set((state) => {
        const following = state.future[0];
        if (!following || !state.project) return state;
        lastCoalesce = null;
        return {
          ...following,
          selectedScene: Math.min(state.selectedScene, following.project.scenes.length - 1),
          past: [...state.past, snapshotOf(state)],
          future: state.future.slice(1),
          revision: state.revision + 1,
          saveState: state.saveState.kind === 'saving' ? state.saveState : { kind: 'unsaved' },
        };
      }),
    markSaving: () => set({ saveState: { kind: 'saving' } }),
    markSaved: (revision) =>
      set((state) => ({
        savedRevision: revision,
        saveState: revision === state.revision ? { kind: 'saved' } : { kind: 'unsaved' },
      })),
    markSaveFailed: (message) => set({ saveState: { kind: 'failed', message } }),
  };
};

/** A scene list with one scene replaced. */
export function withScene(project: EditorProject, index: number, change: (scene: SceneDraft) => SceneDraft): EditorProject {
  return { ...project, scenes: project.scenes.map((scene, i) => (i === index ? change(scene) : scene)) };
}

/** The same record without `key` (so an unset choice falls back to the template's). */
export function without<T extends object, K extends keyof T>(record: T, key: K): Omit<T, K> {
  const next = { ...record };
  delete next[key];
  return next;
}

/** Move an item of a list from one place to another. */
export function moved<T>(list: T[], from: number, to: number): T[] {
  const next = [...list];
  const [item] = next.splice(from, 1);
  next.splice(to, 0, item);
  return next;
}
