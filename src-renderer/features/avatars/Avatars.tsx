import { useMemo, useRef, useState, type DragEvent } from 'react';
import { invoke, pathForFile } from '../../api';
import { useStore } from '../../store';
import { sortAvatars } from '../../store/avatars';
import { AvatarCard } from './AvatarCard';
import { FaceModelsOffer } from './FaceModelsOffer';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function Avatars() {
  const avatars = useStore((state) => state.avatars);
  const loadError = useStore((state) => state.avatarsError);
  const receiveAvatar = useStore((state) => state.receiveAvatar);
  const list = useMemo(() => sortAvatars(avatars), [avatars]);
  const picker = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const [importErrors, setImportErrors] = useState<string[]>([]);

  async function importFiles(files: File[]) {
    // Each refusal is added as it comes, not set at the end, so that a second drop made while the
    // first is on its way cannot wipe out the first one's refusals.
    setImportErrors([]);
    const refuse = (message: string) => setImportErrors((shown) => [...shown, message]);
    for (const file of files) {
      const path = pathForFile(file);
      if (!path) {
        refuse(`${file.name}: not a file on this computer; save it to a folder first, then import it from there`);
        continue;
      }
      try {
        // Main answers at once with the avatar in 'preparing'; progress and the outcome arrive as events.
        receiveAvatar(await invoke('avatars:import', { path }));
      } catch (error) {
        refuse(messageOf(error));
      }
    }
  }

  function acceptDrag(event: DragEvent) {
    if (!event.dataTransfer.types.includes('Files')) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    setDragging(true);
  }

  function leave(event: DragEvent<HTMLElement>) {
    // dragleave fires when the pointer moves onto a child of the zone too; only leaving the zone counts.
    if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setDragging(false);
  }

  function drop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    const files = [...event.dataTransfer.files];
    if (files.length > 0) void importFiles(files);
  }

  return (
    <section className="panel avatars" aria-labelledby="avatars-heading">
      <header className="panel__header">
        <h2 id="avatars-heading">Avatars</h2>
        {list.length > 0 && <span className="panel__count">{list.length === 1 ? '1 avatar' : `${list.length} avatars`}</span>}
      </header>

      <div
        className={`dropzone${dragging ? ' dropzone--active' : ''}`}
        onDragEnter={acceptDrag}
        onDragOver={acceptDrag}
        onDragLeave={leave}
        onDrop={drop}
      >
        <p className="dropzone__title">Drop a photo or a short clip of yourself here</p>
        <p className="dropzone__hint">
          A photo of one face looking at the camera, or a 3–30 s clip of you talking to camera.
        </p>
        <button type="button" className="button button--primary" onClick={() => picker.current?.click()}>
          Import photo or clip
        </button>
        <input
          ref={picker}
          type="file"
          accept="image/*,video/*"
          multiple
          hidden
          aria-label="Photo or clip to import"
          onChange={(event) => {
            const files = [...(event.target.files ?? [])];
            // Cleared so that choosing the same file again still imports it.
            event.target.value = '';
            if (files.length > 0) void importFiles(files);
          }}
        />
      </div>

      {!list.some((avatar) => avatar.kind === 'photo') && <FaceModelsOffer />}

      {importErrors.length > 0 && (
        <div className="avatars__error" role="alert">
          {importErrors.map((message, index) => (
            <p key={index}>{message}</p>
          ))}
        </div>
      )}

      {loadError && (
        <p className="avatars__error" role="alert">
          The avatars could not be loaded: {loadError}
        </p>
      )}

      {list.length > 0 && (
        <ul className="avatars__grid" aria-label="Avatars">
          {list.map((avatar) => (
            <AvatarCard key={avatar.id} avatar={avatar} />
          ))}
        </ul>
      )}
    </section>
  );
}
