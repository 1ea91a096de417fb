import { useMemo, useState } from 'react';
import { pathForFile } from '../../api';
import { useStore } from '../../store';
import { choosableAvatars } from '../../store/avatars';
import { without, type EditorProject } from '../../store/editor';
import { BUILTIN_AVATAR_ID } from '../../../src-shared/avatar';
import type { AccountSummary } from '../../../src-shared/ipc';
import { CAPTION_STYLES, LOGO_POSITIONS, QUALITIES, type Brand, type CaptionStyle, type LogoPosition, type Quality } from '../../../src-shared/project';
import type { Template } from '../../../src-shared/template';

const CAPTION_LABELS: Record<CaptionStyle, string> = {
  highlight: 'Highlight the spoken word',
  plain: 'Plain',
  boxed: 'Boxed',
  none: 'None (subtitle files only)',
};

const CAPTION_SHORT: Record<CaptionStyle, string> = { highlight: 'highlight', plain: 'plain', boxed: 'boxed', none: 'none' };

const POSITION_LABELS: Record<LogoPosition, string> = {
  'top-left': 'Top left',
  'top-right': 'Top right',
  'bottom-left': 'Bottom left',
  'bottom-right': 'Bottom right',
};

const fileName = (path: string) => path.split(/[\\/]/).pop() ?? path;

type Edit = (change: (project: EditorProject) => EditorProject, coalesce?: string) => void;

function BrandColour({ label, value, fallback, onChange, onReset }: { label: string; value: string | undefined; fallback: string; onChange(colour: string): void; onReset(): void }) {
  const id = `brand-${label.toLowerCase().replace(/\W+/g, '-')}`;
  return (
    <div className="field">
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      <span className="colour-field">
        <input id={id} type="color" className="colour-input" value={value ?? fallback} onChange={(event) => onChange(event.target.value)} />
        {value ? (
          <button type="button" className="button button--quiet" aria-label={`${label}: use the template's`} onClick={onReset}>
            Template's
          </button>
        ) : (
          <span className="field__hint">Template's</span>
        )}
      </span>
    </div>
  );
}

/** The logo, its place and size, and the brand colours. */
function BrandFields({ brand, template, edit }: { brand: Brand; template: Template | undefined; edit: Edit }) {
  const [error, setError] = useState<string | null>(null);
  const setBrand = (change: (brand: Brand) => Brand, coalesce?: string) => edit((p) => ({ ...p, brand: change((p.brand ?? {}) as Brand) }), coalesce);
  const logo = brand.logo;
  return (
    <fieldset className="choice">
      <legend className="field__label">Brand</legend>
      <div className="field">
        <label className="field__label" htmlFor="brand-logo">
          Logo file
        </label>
        {logo && (
          <span className="colour-field">
            <span className="scene-fields__file">{fileName(logo.path)}</span>
            <button type="button" className="button button--quiet" onClick={() => setBrand((b) => without(b, 'logo'))}>
              Remove logo
            </button>
          </span>
        )}
        <input
          id="brand-logo"
          type="file"
          accept="image/png,image/jpeg,image/webp"
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
            setBrand((b) => ({ ...b, logo: { position: template?.brand.logoPosition ?? 'top-right', size: 0.12, ...b.logo, path } }));
          }}
        />
        {error && (
          <p className="choice__error" role="alert">
            {error}
          </p>
        )}
      </div>
      {logo && (
        <div className="field-row">
          <div className="field">
            <label className="field__label" htmlFor="brand-logo-position">
              Logo position
            </label>
            <select
              id="brand-logo-position"
              value={logo.position ?? 'top-right'}
              onChange={(event) => {
                const position = event.target.value as LogoPosition;
                setBrand((b) => (b.logo ? { ...b, logo: { ...b.logo, position } } : b));
              }}
            >
              {LOGO_POSITIONS.map((position) => (
                <option key={position} value={position}>
                  {POSITION_LABELS[position]}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <span className="field__label field__label--split">
              <label htmlFor="brand-logo-size">Logo size</label>
              <output htmlFor="brand-logo-size">{Math.round((logo.size ?? 0.12) * 100)}%</output>
            </span>
            <input
              id="brand-logo-size"
              type="range"
              className="range"
              min={0.04}
              max={0.4}
              step={0.01}
              value={logo.size ?? 0.12}
              aria-valuetext={`${Math.round((logo.size ?? 0.12) * 100)}% of the frame's width`}
              onChange={(event) => {
                const size = Number(event.target.value);
                setBrand((b) => (b.logo ? { ...b, logo: { ...b.logo, size } } : b), 'logo-size');
              }}
            />
          </div>
        </div>
      )}
      <div className="field-row">
        <BrandColour
          label="Primary colour"
          value={brand.primary}
          fallback={template?.brand.primary ?? '#2563eb'}
          onChange={(primary) => setBrand((b) => ({ ...b, primary }), 'primary')}
          onReset={() => setBrand((b) => without(b, 'primary'))}
        />
        <BrandColour
          label="Secondary colour"
          value={brand.secondary}
          fallback={template?.brand.secondary ?? '#0f172a'}
          onChange={(secondary) => setBrand((b) => ({ ...b, secondary }), 'secondary')}
          onReset={() => setBrand((b) => without(b, 'secondary'))}
        />
      </div>
    </fieldset>
  );
}

/** A title card before or after the scenes: on or off, with its text. */
function CardField({ which, project, edit }: { which: 'intro' | 'outro'; project: EditorProject; edit: Edit }) {
  const card = project[which];
  const label = which === 'intro' ? 'Intro card' : 'Outro card';
  const placeholder = which === 'intro' ? project.title || 'The video’s title' : 'Thanks for watching';
  return (
    <div className="field card-field">
      <label className="choice__option">
        <input type="checkbox" checked={card !== undefined} onChange={(event) => edit((p) => (event.target.checked ? { ...p, [which]: { seconds: 2.5 } } : without(p, which)))} />
        {label}
      </label>
      {card && (
        <input
          type="text"
          aria-label={which === 'intro' ? 'Intro text' : 'Outro text'}
          value={card.text ?? ''}
          maxLength={120}
          placeholder={placeholder}
          onChange={(event) => {
            const text = event.target.value;
            edit((p) => ({ ...p, [which]: text ? { ...p[which], text } : without(p[which] ?? {}, 'text') }), `${which}-text`);
          }}
        />
      )}
    </div>
  );
}

/** What applies to the whole video: captions, brand, cards, quality and presenter. */
export function ProjectFields({ template, account }: { template: Template | undefined; account: AccountSummary | null }) {
  const project = useStore((state) => state.project)!;
  const edit = useStore((state) => state.edit);
  const avatars = useStore((state) => state.avatars);
  const choices = useMemo(() => choosableAvatars(avatars), [avatars]);
  const avatar = project.avatar ?? BUILTIN_AVATAR_ID;
  const quality = project.quality ?? '720p';
  const maxIndex = account ? QUALITIES.indexOf(account.maxQuality) : QUALITIES.length - 1;
  /** The account, when its tier cannot render every quality. */
  const limited = account && maxIndex < QUALITIES.length - 1 ? account : null;

  return (
    <div className="project-fields">
      <div className="field">
        <label className="field__label" htmlFor="project-captions">
          Caption style
        </label>
        <select
          id="project-captions"
          value={project.captions?.style ?? ''}
          onChange={(event) => {
            const style = event.target.value as CaptionStyle | '';
            edit((p) => ({ ...p, captions: style ? { ...p.captions, style } : without(p.captions ?? {}, 'style') }));
          }}
        >
          <option value="">Template's{template ? ` (${CAPTION_SHORT[template.captions.style]})` : ''}</option>
          {CAPTION_STYLES.map((style) => (
            <option key={style} value={style}>
              {CAPTION_LABELS[style]}
            </option>
          ))}
        </select>
      </div>

      <div className="field">
        <label className="field__label" htmlFor="project-avatar">
          Avatar
        </label>
        <select id="project-avatar" value={avatar} onChange={(event) => edit((p) => ({ ...p, avatar: event.target.value }))}>
          {!choices.some((c) => c.id === avatar) && <option value={avatar}>{avatar === BUILTIN_AVATAR_ID ? 'Presenter (built in)' : 'An avatar that is not ready'}</option>}
          {choices.map((choice) => (
            <option key={choice.id} value={choice.id}>
              {choice.name}
            </option>
          ))}
        </select>
      </div>

      <div className="field">
        <label className="field__label" htmlFor="project-quality">
          Quality
        </label>
        <select id="project-quality" value={quality} aria-describedby={limited ? 'quality-note' : undefined} onChange={(event) => edit((p) => ({ ...p, quality: event.target.value as Quality }))}>
          {QUALITIES.map((q, i) => (
            <option key={q} value={q} disabled={i > maxIndex}>
              {q}
              {i > maxIndex ? ` (${account?.tier === 'free' ? 'premium' : 'not in your plan'})` : ''}
            </option>
          ))}
        </select>
        {limited && (
          <p className="field__hint" id="quality-note">
            Your {limited.tier} account renders up to {limited.maxQuality}
            {limited.tier === 'free' ? '; premium renders 2160p' : ''}.
          </p>
        )}
      </div>

      <BrandFields brand={(project.brand ?? {}) as Brand} template={template} edit={edit} />

      <fieldset className="choice">
        <legend className="field__label">Cards</legend>
        <CardField which="intro" project={project} edit={edit} />
        <CardField which="outro" project={project} edit={edit} />
      </fieldset>
    </div>
  );
}
