import { useId, useState } from 'react';
import { pathForFile } from '../../api';
import { useStore } from '../../store';
import { withScene, without, type EditorProject, type SceneDraft } from '../../store/editor';
import { DEFAULT_VOICE_ID } from '../../store/voices';
import { VoicePicker } from '../voices/VoicePicker';
import { AVATAR_LAYOUTS, SPEED_RANGE, TRANSITIONS, type AvatarLayout, type Background, type Transition } from '../../../src-shared/project';
import type { Template } from '../../../src-shared/template';

type BackgroundKind = 'template' | Background['type'];

const BACKGROUND_LABELS: Record<BackgroundKind, string> = {
  template: "Template's",
  colour: 'Colour',
  gradient: 'Gradient',
  image: 'Image',
  video: 'Video (looped)',
};

const LAYOUT_LABELS: Record<AvatarLayout, string> = {
  full: 'Full frame',
  left: 'Left',
  right: 'Right',
  bubble: 'Bubble',
};

const TRANSITION_LABELS: Record<Transition, string> = { cut: 'Cut', fade: 'Fade' };

const formatSpeed = (speed: number) => `${Number(speed.toFixed(2))}×`;
const fileName = (path: string) => path.split(/[\\/]/).pop() ?? path;

/** A background of `kind` that starts from the template's look where it can. */
function startBackground(kind: Background['type'], template: Template | undefined, current: Background | undefined): Background | null {
  const base = current ?? template?.background;
  if (kind === 'colour') return { type: 'colour', colour: base?.type === 'colour' ? base.colour : base?.type === 'gradient' ? base.from : '#1e293b' };
  if (kind === 'gradient') {
    if (base?.type === 'gradient') return base;
    const from = base?.type === 'colour' ? base.colour : '#1e3a5f';
    return { type: 'gradient', from, to: '#0b1524', angle: 180 };
  }
  // Image and video need a file first.
  return null;
}

/** Pick a picture or clip for the background; the file stays where it is and is read when rendering. */
function MediaPicker({ kind, background, onPick }: { kind: 'image' | 'video'; background: Background | undefined; onPick(path: string): void }) {
  const [error, setError] = useState<string | null>(null);
  const chosen = background?.type === kind ? background.path : null;
  return (
    <div className="field">
      <label className="field__label" htmlFor={`background-${kind}`}>
        {kind === 'image' ? 'Background image file' : 'Background video file'}
      </label>
      {chosen && <span className="scene-fields__file">{fileName(chosen)}</span>}
      <input
        id={`background-${kind}`}
        type="file"
        accept={kind === 'image' ? 'image/png,image/jpeg,image/webp' : 'video/*,.mp4,.mov,.webm,.mkv'}
        onChange={(event) => {
          const file = event.target.files?.[0];
          event.target.value = '';
          if (!file) return;
          const path = pathForFile(file);
          if (!path) {
            setError(`${file.name}: not a file on this computer; save it to a folder first, then choose it from there`);
            return;
          }
          setError(null);
          onPick(path);
        }}
      />
      {error && (
        <p className="choice__error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** The selected scene: what is said, over what background, with which layout, voice and pace. */
export function SceneFields({ template }: { template: Template | undefined }) {
  const project = useStore((state) => state.project)!;
  const index = useStore((state) => state.selectedScene);
  const sceneKey = useStore((state) => state.sceneKeys[state.selectedScene]);
  const edit = useStore((state) => state.edit);
  const scene = project.scenes[index];
  const [pendingKind, setPendingKind] = useState<{ scene: string; kind: 'image' | 'video' } | null>(null);
  const textId = useId();
  const paceId = useId();
  if (!scene) return null;

  const n = index + 1;
  const change = (fn: (scene: SceneDraft) => SceneDraft, coalesce?: string) => edit((p: EditorProject) => withScene(p, index, fn), coalesce);
  const background = scene.background as Background | undefined;
  const pending = pendingKind?.scene === sceneKey ? pendingKind.kind : null;
  const kind: BackgroundKind = pending ?? background?.type ?? 'template';
  const speed = scene.speed ?? project.speed ?? 1;
  const voice = scene.voice ?? project.voice ?? DEFAULT_VOICE_ID;

  function chooseKind(next: BackgroundKind) {
    setPendingKind(null);
    if (next === 'template') return change((s) => without(s, 'background'));
    const started = startBackground(next, template, background);
    if (started) change((s) => ({ ...s, background: started }));
    else if (next === 'image' || next === 'video') {
      if (background?.type !== next) setPendingKind({ scene: sceneKey, kind: next });
    }
  }

  return (
    <section className="scene-fields" aria-labelledby="scene-fields-heading">
      <h2 className="scene-fields__heading" id="scene-fields-heading">
        Scene {n}
      </h2>
      <div className="field">
        <label className="field__label" htmlFor={textId}>
          Scene text
        </label>
        <textarea
          id={textId}
          className="scene-fields__text"
          value={scene.text ?? ''}
          rows={6}
          placeholder="What the presenter says in this scene. Write [pause 1s] for a moment of silence."
          onChange={(event) => {
            const text = event.target.value;
            change((s) => ({ ...s, text }), `text:${sceneKey}`);
          }}
        />
      </div>

      <div className="field-row">
        <div className="field">
          <label className="field__label" htmlFor="scene-background">
            Background
          </label>
          <select id="scene-background" value={kind} onChange={(event) => chooseKind(event.target.value as BackgroundKind)}>
            {(Object.keys(BACKGROUND_LABELS) as BackgroundKind[]).map((k) => (
              <option key={k} value={k}>
                {BACKGROUND_LABELS[k]}
              </option>
            ))}
          </select>
        </div>
        {kind === 'colour' && background?.type === 'colour' && (
          <div className="field">
            <label className="field__label" htmlFor="background-colour">
              Background colour
            </label>
            <input
              id="background-colour"
              type="color"
              className="colour-input"
              value={background.colour}
              onChange={(event) => {
                const colour = event.target.value;
                change((s) => ({ ...s, background: { type: 'colour', colour } }), `colour:${sceneKey}`);
              }}
            />
          </div>
        )}
      </div>

      {kind === 'gradient' && background?.type === 'gradient' && (
        <div className="field-row field-row--three">
          <div className="field">
            <label className="field__label" htmlFor="gradient-from">
              Gradient from
            </label>
            <input
              id="gradient-from"
              type="color"
              className="colour-input"
              value={background.from}
              onChange={(event) => {
                const from = event.target.value;
                change((s) => ({ ...s, background: { ...background, from } }), `gradient:${sceneKey}`);
              }}
            />
          </div>
          <div className="field">
            <label className="field__label" htmlFor="gradient-to">
              Gradient to
            </label>
            <input
              id="gradient-to"
              type="color"
              className="colour-input"
              value={background.to}
              onChange={(event) => {
                const to = event.target.value;
                change((s) => ({ ...s, background: { ...background, to } }), `gradient:${sceneKey}`);
              }}
            />
          </div>
          <div className="field">
            <label className="field__label" htmlFor="gradient-angle">
              Gradient angle (°)
            </label>
            <input
              id="gradient-angle"
              type="number"
              min={0}
              max={360}
              step={5}
              value={background.angle ?? 180}
              onChange={(event) => {
                const angle = Math.max(0, Math.min(360, Number(event.target.value) || 0));
                change((s) => ({ ...s, background: { ...background, angle } }), `gradient:${sceneKey}`);
              }}
            />
          </div>
        </div>
      )}

      {(kind === 'image' || kind === 'video') && (
        <MediaPicker
          kind={kind}
          background={background}
          onPick={(path) => {
            setPendingKind(null);
            change((s) => ({ ...s, background: { type: kind, path } }));
          }}
        />
      )}

      <div className="field-row">
        <div className="field">
          <label className="field__label" htmlFor="scene-layout">
            Avatar layout
          </label>
          <select
            id="scene-layout"
            value={scene.avatarLayout ?? ''}
            onChange={(event) => {
              const layout = event.target.value as AvatarLayout | '';
              change((s) => (layout ? { ...s, avatarLayout: layout } : without(s, 'avatarLayout')));
            }}
          >
            <option value="">Template's{template ? ` (${LAYOUT_LABELS[template.avatar.layout].toLowerCase()})` : ''}</option>
            {AVATAR_LAYOUTS.map((layout) => (
              <option key={layout} value={layout}>
                {LAYOUT_LABELS[layout]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label className="field__label" htmlFor="scene-transition">
            Transition in
          </label>
          <select
            id="scene-transition"
            value={scene.transition ?? ''}
            disabled={index === 0}
            onChange={(event) => {
              const transition = event.target.value as Transition | '';
              change((s) => (transition ? { ...s, transition } : without(s, 'transition')));
            }}
          >
            <option value="">Template's{template ? ` (${TRANSITION_LABELS[template.transition].toLowerCase()})` : ''}</option>
            {TRANSITIONS.map((transition) => (
              <option key={transition} value={transition}>
                {TRANSITION_LABELS[transition]}
              </option>
            ))}
          </select>
        </div>
      </div>

      <VoicePicker value={voice} onChange={(voiceId) => change((s) => ({ ...s, voice: voiceId }))} />
      <div className="field">
        <span className="field__label field__label--split">
          <label htmlFor={paceId}>Pace</label>
          <output htmlFor={paceId}>{formatSpeed(speed)}</output>
        </span>
        <input
          id={paceId}
          type="range"
          className="range"
          min={SPEED_RANGE[0]}
          max={SPEED_RANGE[1]}
          step={0.05}
          value={speed}
          aria-valuetext={formatSpeed(speed)}
          onChange={(event) => {
            const value = Number(event.target.value);
            change((s) => ({ ...s, speed: value }), `speed:${sceneKey}`);
          }}
        />
      </div>
      {(scene.voice !== undefined || scene.speed !== undefined) && project.scenes.length > 1 && (
        <button
          type="button"
          className="button button--quiet scene-fields__apply"
          onClick={() =>
            edit((p) => ({
              ...p,
              voice,
              speed,
              scenes: p.scenes.map((s) => without(without(s, 'voice'), 'speed')),
            }))
          }
        >
          Use this voice and pace for every scene
        </button>
      )}
    </section>
  );
}
