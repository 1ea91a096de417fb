import { useRef } from 'react';

/**
 * A button that opens the file picker (the input itself stays hidden) and hands over the chosen
 * file. Reads "Importing…" while `busy`.
 */
export function ImportButton({ label, busy, accept, fileLabel, onFile }: { label: string; busy: boolean; accept: string; fileLabel: string; onFile(file: File): void }) {
  const picker = useRef<HTMLInputElement>(null);
  return (
    <>
      <button type="button" className="button button--primary" disabled={busy} onClick={() => picker.current?.click()}>
        {busy ? 'Importing…' : label}
      </button>
      <input
        ref={picker}
        type="file"
        accept={accept}
        hidden
        aria-label={fileLabel}
        onChange={(event) => {
          const file = event.target.files?.[0];
          // Cleared so that choosing the same file again (after fixing what was wrong) picks it again.
          event.target.value = '';
          if (file) onFile(file);
        }}
      />
    </>
  );
}
