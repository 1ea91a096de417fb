import { useState } from 'react';
import { invoke } from '../../api';
import { FORMATS, type Format } from '../../../src-shared/project';
import type { Template, TemplateSummary } from '../../../src-shared/template';

const FORMAT_LABELS: Record<Format, string> = {
  '16:9': 'Landscape 16:9',
  '9:16': 'Portrait 9:16',
  '1:1': 'Square 1:1',
};

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

const ASPECTS: Record<Format, string> = { '16:9': '16 / 9', '9:16': '9 / 16', '1:1': '1 / 1' };

/** CSS for a template's background, for its sketch. */
function backgroundCss(background: Template['background'] | undefined): string | undefined {
  if (background?.type === 'colour') return background.colour;
  if (background?.type === 'gradient') return `linear-gradient(${background.angle ?? 180}deg, ${background.from}, ${background.to})`;
  return undefined;
}

/**
 * A sketch of a template that has no still yet: its background, in its shape, with the presenter
 * where its layout puts it.
 */
function TemplateSketch({ summary }: { summary: TemplateSummary }) {
  const layout = summary.template?.avatar.layout ?? 'full';
  return (
    <span className="template-card__thumb" aria-hidden="true">
      <span className="template-sketch" style={{ aspectRatio: ASPECTS[summary.format], background: backgroundCss(summary.template?.background) }}>
        <span className={`template-sketch__presenter template-sketch__presenter--${layout}`} />
      </span>
    </span>
  );
}

export interface TemplatesState {
  templates: TemplateSummary[];
  loaded: boolean;
  error: string | null;
}

/**
 * The templates grouped by format, each a radio with its thumbnail; the chosen one can be
 * duplicated into a user template, and a user template renamed or deleted.
 */
export function TemplatePicker({
  state,
  value,
  onChoose,
  onChanged,
}: {
  state: TemplatesState;
  value: string;
  onChoose(templateId: string): void;
  /** A template was made, renamed or deleted: the list must be fetched again. */
  onChanged(): Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const chosen = state.templates.find((t) => t.id === value);

  async function act(work: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  }

  const duplicate = () =>
    act(async () => {
      if (!chosen) return;
      const copy = await invoke('templates:duplicate', { templateId: chosen.id, name: `${chosen.name} copy`.slice(0, 60) });
      await onChanged();
      onChoose(copy.id);
      setRenaming(copy.name);
    });

  const rename = (name: string) =>
    act(async () => {
      if (!chosen?.template) return;
      await invoke('templates:save', { template: { ...chosen.template, name } });
      await onChanged();
      setRenaming(null);
    });

  const remove = () =>
    act(async () => {
      if (!chosen || chosen.builtin) return;
      await invoke('templates:delete', { templateId: chosen.id });
      // The project falls back to the built-in template of the same format, as main does.
      const fallback = state.templates.find((t) => t.builtin && t.format === chosen.format) ?? state.templates.find((t) => t.builtin);
      if (fallback) onChoose(fallback.id);
      await onChanged();
    });

  return (
    <fieldset className="choice templates">
      <legend className="field__label">Template</legend>
      {state.error && (
        <p className="choice__error" role="alert">
          The templates could not be loaded: {state.error}
        </p>
      )}
      {!state.loaded && !state.error && <p className="field__hint">Loading templates…</p>}
      {FORMATS.map((format) => {
        const group = state.templates.filter((t) => t.format === format);
        if (group.length === 0) return null;
        return (
          <div key={format} className="templates__group" role="group" aria-label={FORMAT_LABELS[format]}>
            <p className="templates__format">{FORMAT_LABELS[format]}</p>
            <div className="templates__grid">
              {group.map((template) => (
                <label key={template.id} className={`template-card${template.id === value ? ' template-card--chosen' : ''}`} title={template.description}>
                  <input type="radio" name="template" className="template-card__radio" checked={template.id === value} onChange={() => onChoose(template.id)} />
                  {template.thumbnail ? <img className="template-card__thumb" src={template.thumbnail} alt="" /> : <TemplateSketch summary={template} />}
                  <span className="template-card__name">{template.name}</span>
                </label>
              ))}
            </div>
          </div>
        );
      })}
      {state.loaded && !chosen && value && <p className="field__hint">"{value}" is not among the templates; the render will use the built-in one of its format.</p>}
      {renaming !== null && chosen && !chosen.builtin ? (
        <form
          className="templates__rename"
          onSubmit={(event) => {
            event.preventDefault();
            if (renaming.trim()) void rename(renaming.trim());
          }}
        >
          <input aria-label="Template name" value={renaming} maxLength={60} onChange={(event) => setRenaming(event.target.value)} autoFocus />
          <button type="submit" className="button button--quiet" disabled={busy || !renaming.trim()}>
            Save name
          </button>
          <button type="button" className="button button--quiet" onClick={() => setRenaming(null)}>
            Cancel
          </button>
        </form>
      ) : (
        <div className="templates__actions">
          <button type="button" className="button button--quiet" disabled={busy || !chosen} onClick={() => void duplicate()}>
            Duplicate template
          </button>
          {chosen && !chosen.builtin && (
            <>
              <button type="button" className="button button--quiet" disabled={busy || !chosen.template} onClick={() => setRenaming(chosen.name)}>
                Rename
              </button>
              <button type="button" className="button button--quiet" disabled={busy} onClick={() => void remove()}>
                Delete
              </button>
            </>
          )}
        </div>
      )}
      {error && (
        <p className="choice__error" role="alert">
          {error}
        </p>
      )}
    </fieldset>
  );
}
