import { useState } from 'react';
import { useStore } from '../../store';
import { moved, newSceneKey, type SceneDraft } from '../../store/editor';
import { MAX_SCENES } from '../../../src-shared/project';

const ICONS = {
  up: 'M8 13V3M3.5 7.5 8 3l4.5 4.5',
  down: 'M8 3v10M3.5 8.5 8 13l4.5-4.5',
  duplicate: 'M5.5 5.5h7v7h-7zM3.5 10.5v-7h7',
  delete: 'M4 4l8 8M12 4l-8 8',
};

function Icon({ name }: { name: keyof typeof ICONS }) {
  return (
    <svg viewBox="0 0 16 16" aria-hidden="true" focusable="false">
      <path d={ICONS[name]} />
    </svg>
  );
}

function SceneAction({ icon, label, title, disabled, danger, onClick }: { icon: keyof typeof ICONS; label: string; title: string; disabled: boolean; danger?: boolean; onClick(): void }) {
  return (
    <button type="button" className={danger ? 'icon-button icon-button--danger' : 'icon-button'} aria-label={label} title={title} disabled={disabled} onClick={onClick}>
      <Icon name={icon} />
    </button>
  );
}

function excerpt(scene: SceneDraft): string {
  const text = (scene.text ?? '').replace(/\s+/g, ' ').trim();
  if (text) return text.length > 70 ? `${text.slice(0, 70)}…` : text;
  return scene.audio ? 'Your recording' : 'Nothing to say yet';
}

/** The scenes in order: pick one to edit, add, duplicate, move (buttons or drag) and delete them. */
export function SceneList() {
  const project = useStore((state) => state.project)!;
  const sceneKeys = useStore((state) => state.sceneKeys);
  const selected = useStore((state) => state.selectedScene);
  const editScenes = useStore((state) => state.editScenes);
  const selectScene = useStore((state) => state.selectScene);
  const [dragging, setDragging] = useState<number | null>(null);
  const count = project.scenes.length;
  const full = count >= MAX_SCENES;

  function insertAfter(index: number, scene: SceneDraft) {
    editScenes((p, keys) => ({
      project: { ...p, scenes: [...p.scenes.slice(0, index + 1), scene, ...p.scenes.slice(index + 1)] },
      sceneKeys: [...keys.slice(0, index + 1), newSceneKey(), ...keys.slice(index + 1)],
    }));
    selectScene(index + 1);
  }

  function add() {
    const current = project.scenes[selected];
    // A new scene speaks like the one it follows; its look falls back to the template's.
    insertAfter(selected, {
      text: '',
      ...(current?.voice ? { voice: current.voice } : {}),
      ...(current?.speed !== undefined ? { speed: current.speed } : {}),
    });
  }

  function move(from: number, to: number) {
    if (to < 0 || to >= count || from === to) return;
    editScenes((p, keys) => ({ project: { ...p, scenes: moved(p.scenes, from, to) }, sceneKeys: moved(keys, from, to) }));
    if (selected === from) selectScene(to);
  }

  function remove(index: number) {
    if (count <= 1) return;
    editScenes((p, keys) => ({
      project: { ...p, scenes: p.scenes.filter((_, i) => i !== index) },
      sceneKeys: keys.filter((_, i) => i !== index),
    }));
    if (selected >= index && selected > 0) selectScene(selected - 1);
  }

  return (
    <section className="panel scenes" aria-labelledby="scenes-heading">
      <header className="panel__header">
        <h2 id="scenes-heading">Scenes</h2>
        <span className="panel__count">{count}</span>
      </header>
      <ol className="scenes__list" aria-label="Scenes">
        {project.scenes.map((scene, index) => {
          const key = sceneKeys[index] ?? String(index);
          const n = index + 1;
          return (
            <li
              key={key}
              className={`scene-row${index === selected ? ' scene-row--selected' : ''}${dragging === index ? ' scene-row--dragging' : ''}`}
              aria-label={`Scene ${n}`}
              draggable
              onDragStart={(event) => {
                setDragging(index);
                event.dataTransfer.effectAllowed = 'move';
              }}
              onDragEnd={() => setDragging(null)}
              onDragOver={(event) => {
                if (dragging !== null) event.preventDefault();
              }}
              onDrop={(event) => {
                event.preventDefault();
                if (dragging !== null) move(dragging, index);
                setDragging(null);
              }}
            >
              <button
                type="button"
                className="scene-row__pick"
                aria-current={index === selected ? 'true' : undefined}
                onClick={() => selectScene(index)}
              >
                <span className="scene-row__number">Scene {n}</span>
                <span className="scene-row__text">{excerpt(scene)}</span>
              </button>
              <div className="scene-row__actions">
                <SceneAction icon="up" label={`Move scene ${n} up`} title="Move up" disabled={index === 0} onClick={() => move(index, index - 1)} />
                <SceneAction icon="down" label={`Move scene ${n} down`} title="Move down" disabled={index === count - 1} onClick={() => move(index, index + 1)} />
                <SceneAction icon="duplicate" label={`Duplicate scene ${n}`} title="Duplicate" disabled={full} onClick={() => insertAfter(index, structuredClone(scene))} />
                <SceneAction
                  icon="delete"
                  danger
                  label={`Delete scene ${n}`}
                  title={count <= 1 ? 'A video needs at least one scene' : 'Delete'}
                  disabled={count <= 1}
                  onClick={() => remove(index)}
                />
              </div>
            </li>
          );
        })}
      </ol>
      <button type="button" className="button button--quiet scenes__add" disabled={full} onClick={add}>
        Add scene
      </button>
      <p className="field__hint">Drag a scene to move it. Ctrl+Z undoes, Ctrl+Shift+Z redoes.</p>
    </section>
  );
}
