import { useId, useState } from 'react';
import { ColourField, Field, FileField, SelectField, SpeedField, fileName, takeValue, type SelectOption } from '../../components/fields';
import { useStore } from '../../store';
import { withScene, without, type EditorProject, type SceneDraft } from '../../store/editor';
import { DEFAULT_VOICE_ID } from '../../store/voices';
import { VoicePicker } from '../voices/VoicePicker';
import { AVATAR_LAYOUTS, TRANSITIONS, type AvatarLayout, type Background, type Transition } from '../../../src-shared/project';
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
  const chosen = background?.type === kind ? background.path : null;
  return (
    <FileField
      id={`background-${kind}`}
      label={kind === 'image' ? 'Background image file' : 'Background video file'}
      accept={kind === 'image' ? 'image/png,image/jpeg,image/webp' : 'video/*,.mp4,.mov,.webm,.mkv'}
      onPick={onPick}
    >
      {chosen && <span className="scene-fields__file">{fileName(chosen)}</span>}
    </FileField>
  );
}

/** The options of a select whose first choice, '', keeps the template's own value. */
function orTemplates<V extends string>(values: readonly V[], labels: Record<V, string>, inherited: V | undefined): SelectOption<V | ''>[] {
  return [
    { value: '', label: `Template's${inherited ? ` (${labels[inherited].toLowerCase()})` : ''}` },
    ...values.map((value) => ({ value, label: labels[value] })),
  ];
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

  const setBackground = (next: Background, coalesce: string) => change((s) => ({ ...s, background: next }), `${coalesce}:${sceneKey}`);

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
      <Field id={textId} label="Scene text">
        <textarea
          id={textId}
          className="scene-fields__text"
          value={scene.text ?? ''}
          rows={6}
          placeholder="What the presenter says in this scene. Write [pause 1s] for a moment of silence."
          onChange={takeValue((text) => change((s) => ({ ...s, text }), `text:${sceneKey}`))}
        />
      </Field>

      <div className="field-row">
        <SelectField
          id="scene-background"
          label="Background"
          value={kind}
          options={(Object.keys(BACKGROUND_LABELS) as BackgroundKind[]).map((k) => ({ value: k, label: BACKGROUND_LABELS[k] }))}
          onChange={chooseKind}
        />
        {kind === 'colour' && background?.type === 'colour' && (
          <ColourField
            id="background-colour"
            label="Background colour"
            value={background.colour}
            onChange={(colour) => setBackground({ type: 'colour', colour }, 'colour')}
          />
        )}
      </div>

      {kind === 'gradient' && background?.type === 'gradient' && (
        <div className="field-row field-row--three">
          <ColourField id="gradient-from" label="Gradient from" value={background.from} onChange={(from) => setBackground({ ...background, from }, 'gradient')} />
          <ColourField id="gradient-to" label="Gradient to" value={background.to} onChange={(to) => setBackground({ ...background, to }, 'gradient')} />
          <Field id="gradient-angle" label="Gradient angle (°)">
            <input
              id="gradient-angle"
              type="number"
              min={0}
              max={360}
              step={5}
              value={background.angle ?? 180}
              onChange={takeValue((value) => setBackground({ ...background, angle: Math.max(0, Math.min(360, Number(value) || 0)) }, 'gradient'))}
            />
          </Field>
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
        <SelectField
          id="scene-layout"
          label="Avatar layout"
          value={scene.avatarLayout ?? ''}
          options={orTemplates(AVATAR_LAYOUTS, LAYOUT_LABELS, template?.avatar.layout)}
          onChange={(layout) => change((s) => (layout ? { ...s, avatarLayout: layout } : without(s, 'avatarLayout')))}
        />
        <SelectField
          id="scene-transition"
          label="Transition in"
          value={scene.transition ?? ''}
          disabled={index === 0}
          options={orTemplates(TRANSITIONS, TRANSITION_LABELS, template?.transition)}
          onChange={(transition) => change((s) => (transition ? { ...s, transition } : without(s, 'transition')))}
        />
      </div>

      <VoicePicker value={voice} onChange={(voiceId) => change((s) => ({ ...s, voice: voiceId }))} />
      <SpeedField id={paceId} label="Pace" value={speed} onChange={(value) => change((s) => ({ ...s, speed: value }), `speed:${sceneKey}`)} />
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
