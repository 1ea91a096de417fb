import { useMemo } from 'react';
import { ColourField, FileField, RangeField, SelectField, fileName } from '../../components/fields';
import { useStore } from '../../store';
import { choosableAvatars } from '../../store/avatars';
import { without, type EditorProject } from '../../store/editor';
import { BUILTIN_AVATAR_ID } from '../../../src-shared/avatar';
import type { AccountSummary } from '../../../src-shared/ipc';
import { CAPTION_STYLES, LOGO_POSITIONS, QUALITIES, type Brand, type CaptionStyle, type LogoPosition } from '../../../src-shared/project';
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

type Edit = (change: (project: EditorProject) => EditorProject, coalesce?: string) => void;

function BrandColour({ label, value, fallback, onChange, onReset }: { label: string; value: string | undefined; fallback: string; onChange(colour: string): void; onReset(): void }) {
  return (
    <ColourField id={`brand-${label.toLowerCase().replace(/\W+/g, '-')}`} label={label} value={value ?? fallback} onChange={onChange}>
      {value ? (
        <button type="button" className="button button--quiet" aria-label={`${label}: use the template's`} onClick={onReset}>
          Template's
        </button>
      ) : (
        <span className="field__hint">Template's</span>
      )}
    </ColourField>
  );
}

/** The logo, its place and size, and the brand colours. */
function BrandFields({ brand, template, edit }: { brand: Brand; template: Template | undefined; edit: Edit }) {
  const setBrand = (change: (brand: Brand) => Brand, coalesce?: string) => edit((p) => ({ ...p, brand: change((p.brand ?? {}) as Brand) }), coalesce);
  const logo = brand.logo;
  const logoSize = logo?.size ?? 0.12;
  return (
    <fieldset className="choice">
      <legend className="field__label">Brand</legend>
      <FileField
        id="brand-logo"
        label="Logo file"
        accept="image/png,image/jpeg,image/webp"
        onPick={(path) => setBrand((b) => ({ ...b, logo: { position: template?.brand.logoPosition ?? 'top-right', size: 0.12, ...b.logo, path } }))}
      >
        {logo && (
          <span className="colour-field">
            <span className="scene-fields__file">{fileName(logo.path)}</span>
            <button type="button" className="button button--quiet" onClick={() => setBrand((b) => without(b, 'logo'))}>
              Remove logo
            </button>
          </span>
        )}
      </FileField>
      {logo && (
        <div className="field-row">
          <SelectField
            id="brand-logo-position"
            label="Logo position"
            value={logo.position ?? 'top-right'}
            options={LOGO_POSITIONS.map((position) => ({ value: position, label: POSITION_LABELS[position] }))}
            onChange={(position) => setBrand((b) => (b.logo ? { ...b, logo: { ...b.logo, position } } : b))}
          />
          <RangeField
            id="brand-logo-size"
            label="Logo size"
            min={0.04}
            max={0.4}
            step={0.01}
            value={logoSize}
            shown={`${Math.round(logoSize * 100)}%`}
            valueText={`${Math.round(logoSize * 100)}% of the frame's width`}
            onChange={(size) => setBrand((b) => (b.logo ? { ...b, logo: { ...b.logo, size } } : b), 'logo-size')}
          />
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
      <SelectField
        id="project-captions"
        label="Caption style"
        value={project.captions?.style ?? ''}
        options={[
          { value: '', label: `Template's${template ? ` (${CAPTION_SHORT[template.captions.style]})` : ''}` },
          ...CAPTION_STYLES.map((style) => ({ value: style, label: CAPTION_LABELS[style] })),
        ]}
        onChange={(style) => edit((p) => ({ ...p, captions: style ? { ...p.captions, style } : without(p.captions ?? {}, 'style') }))}
      />

      <SelectField
        id="project-avatar"
        label="Avatar"
        value={avatar}
        options={[
          ...(choices.some((c) => c.id === avatar) ? [] : [{ value: avatar, label: avatar === BUILTIN_AVATAR_ID ? 'Presenter (built in)' : 'An avatar that is not ready' }]),
          ...choices.map((choice) => ({ value: choice.id, label: choice.name })),
        ]}
        onChange={(id) => edit((p) => ({ ...p, avatar: id }))}
      />

      <SelectField
        id="project-quality"
        label="Quality"
        value={quality}
        describedBy={limited ? 'quality-note' : undefined}
        options={QUALITIES.map((q, i) => ({
          value: q,
          label: `${q}${i > maxIndex ? ` (${account?.tier === 'free' ? 'premium' : 'not in your plan'})` : ''}`,
          disabled: i > maxIndex,
        }))}
        onChange={(q) => edit((p) => ({ ...p, quality: q }))}
      >
        {limited && (
          <p className="field__hint" id="quality-note">
            Your {limited.tier} account renders up to {limited.maxQuality}
            {limited.tier === 'free' ? '; premium renders 2160p' : ''}.
          </p>
        )}
      </SelectField>

      <BrandFields brand={(project.brand ?? {}) as Brand} template={template} edit={edit} />

      <fieldset className="choice">
        <legend className="field__label">Cards</legend>
        <CardField which="intro" project={project} edit={edit} />
        <CardField which="outro" project={project} edit={edit} />
      </fieldset>
    </div>
  );
}
