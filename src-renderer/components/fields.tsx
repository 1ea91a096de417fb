import { useState, type ChangeEvent, type ReactNode } from 'react';
import { pathForFile } from '../api';
import { SPEED_RANGE } from '../../src-shared/project';

/** The last part of a path, as a file picker shows a chosen file. */
export const fileName = (path: string) => path.split(/[\\/]/).pop() ?? path;

export const formatSpeed = (speed: number) => `${Number(speed.toFixed(2))}×`;

/** A change handler that passes on only the control's new value. */
export const takeValue =
  (onValue: (value: string) => void) =>
  (event: ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) =>
    onValue(event.target.value);

/** A label above one control, tied to it by `id`; `children` is the control and what goes with it. */
export function Field({ id, label, className, children }: { id: string; label: string; className?: string; children: ReactNode }) {
  return (
    <div className={className ? `field ${className}` : 'field'}>
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      {children}
    </div>
  );
}

export interface SelectOption<V extends string> {
  value: V;
  label: string;
  disabled?: boolean;
}

/** A labelled select; `children` goes below it (a hint, say). */
export function SelectField<V extends string>({
  id,
  label,
  value,
  options,
  onChange,
  disabled,
  describedBy,
  children,
}: {
  id: string;
  label: string;
  value: V;
  options: SelectOption<V>[];
  onChange(value: V): void;
  disabled?: boolean;
  describedBy?: string;
  children?: ReactNode;
}) {
  return (
    <Field id={id} label={label}>
      <select id={id} value={value} disabled={disabled} aria-describedby={describedBy} onChange={takeValue((next) => onChange(next as V))}>
        {options.map((option) => (
          <option key={option.value} value={option.value} disabled={option.disabled}>
            {option.label}
          </option>
        ))}
      </select>
      {children}
    </Field>
  );
}

/** A labelled colour picker; `children` sits beside the swatch (a reset button, say). */
export function ColourField({ id, label, value, onChange, children }: { id: string; label: string; value: string; onChange(colour: string): void; children?: ReactNode }) {
  const input = <input id={id} type="color" className="colour-input" value={value} onChange={takeValue(onChange)} />;
  return (
    <Field id={id} label={label}>
      {children ? (
        <span className="colour-field">
          {input}
          {children}
        </span>
      ) : (
        input
      )}
    </Field>
  );
}

/** A labelled slider with its value shown beside the label. */
export function RangeField({
  id,
  label,
  value,
  min,
  max,
  step,
  shown,
  valueText = shown,
  onChange,
}: {
  id: string;
  label: string;
  value: number;
  min: number;
  max: number;
  step: number;
  /** The value as the label shows it. */
  shown: string;
  /** The value as a screen reader says it. */
  valueText?: string;
  onChange(value: number): void;
}) {
  return (
    <div className="field">
      <span className="field__label field__label--split">
        <label htmlFor={id}>{label}</label>
        <output htmlFor={id}>{shown}</output>
      </span>
      <input
        id={id}
        type="range"
        className="range"
        min={min}
        max={max}
        step={step}
        value={value}
        aria-valuetext={valueText}
        onChange={(event) => onChange(Number(event.target.value))}
      />
    </div>
  );
}

/** How fast the voice speaks, as a multiple of its own pace. */
export function SpeedField({ id, label, value, onChange }: { id: string; label: string; value: number; onChange(speed: number): void }) {
  return <RangeField id={id} label={label} value={value} min={SPEED_RANGE[0]} max={SPEED_RANGE[1]} step={0.05} shown={formatSpeed(value)} onChange={onChange} />;
}

/**
 * A labelled file picker that hands on the picked file's path on disk; the file stays where it is.
 * A file that is not on disk (dragged from a web page, say) is refused with a message naming it.
 * `children` goes between the label and the picker (the file chosen so far, say).
 */
export function FileField({ id, label, accept, onPick, children }: { id: string; label: string; accept: string; onPick(path: string): void; children?: ReactNode }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <Field id={id} label={label}>
      {children}
      <input
        id={id}
        type="file"
        accept={accept}
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
    </Field>
  );
}
