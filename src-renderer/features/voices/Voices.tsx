import { useMemo, useRef, useState } from 'react';
import { invoke, pathForFile } from '../../api';
import { ImportButton } from '../../components/ImportButton';
import { useStore } from '../../store';
import { groupVoices, searchVoices } from '../../store/voices';
import { VoiceRow, type PreviewState } from './VoiceRow';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

const IDLE: PreviewState = { kind: 'idle' };

const countOf = (n: number) => (n === 1 ? '1 voice' : `${n} voices`);

export function Voices() {
  const voices = useStore((state) => state.voices);
  const loaded = useStore((state) => state.voicesLoaded);
  const loadError = useStore((state) => state.voicesError);
  const receiveVoice = useStore((state) => state.receiveVoice);
  const groups = useMemo(() => groupVoices(voices), [voices]);
  const [query, setQuery] = useState('');
  const shown = useMemo(() => searchVoices(groups, query), [groups, query]);
  const total = groups.reduce((n, g) => n + g.voices.length, 0);
  const shownTotal = shown.reduce((n, g) => n + g.voices.length, 0);

  // One sample at a time: playing a voice replaces the one before, whose <audio> unmounts.
  const [preview, setPreview] = useState<{ voiceId: string; state: PreviewState } | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  // Each request's number; an answer that is not the latest request's (the user moved on) is dropped.
  const latestPreview = useRef(0);

  const [importing, setImporting] = useState(false);
  const [importError, setImportError] = useState<string | null>(null);

  async function play(voiceId: string) {
    const request = ++latestPreview.current;
    setPreviewError(null);
    setPreview({ voiceId, state: { kind: 'synthesising' } });
    try {
      const { url } = await invoke('voices:preview', { voiceId });
      if (request === latestPreview.current) setPreview({ voiceId, state: { kind: 'playing', url } });
    } catch (error) {
      if (request !== latestPreview.current) return;
      setPreview(null);
      setPreviewError(`${voices[voiceId]?.name ?? voiceId} could not be previewed: ${messageOf(error)}`);
    }
  }

  function stop() {
    latestPreview.current++;
    setPreview(null);
  }

  async function importVoice(file: File) {
    setImportError(null);
    const path = pathForFile(file);
    if (!path) {
      setImportError(`${file.name}: not a file on this computer; save it (and its .onnx.json) to a folder first, then import it from there`);
      return;
    }
    setImporting(true);
    try {
      receiveVoice(await invoke('voices:import', { path }));
      // The new voice is what the user wants to see next; a search could be hiding it.
      setQuery('');
    } catch (error) {
      setImportError(messageOf(error));
    } finally {
      setImporting(false);
    }
  }

  return (
    <section className="panel voices" aria-labelledby="voices-heading">
      <header className="panel__header">
        <h2 id="voices-heading">Voices</h2>
        {total > 0 && (
          <span className="panel__count">{query.trim() ? `${shownTotal} of ${countOf(total)}` : countOf(total)}</span>
        )}
      </header>

      <div className="voices__import">
        <div>
          <p className="voices__import-title">Add a Piper voice</p>
          <p className="voices__import-hint">
            A Piper voice is two files, <code>name.onnx</code> and <code>name.onnx.json</code>. Keep them in the same
            folder and choose the <code>.onnx</code>.
          </p>
        </div>
        <ImportButton label="Import Piper voice" busy={importing} accept=".onnx" fileLabel="Piper voice to import" onFile={(file) => void importVoice(file)} />
      </div>

      {importError && (
        <p className="voices__error" role="alert">
          {importError}
        </p>
      )}
      {previewError && (
        <p className="voices__error" role="alert">
          {previewError}
        </p>
      )}
      {loadError && (
        <p className="voices__error" role="alert">
          The voices could not be loaded: {loadError}
        </p>
      )}

      <input
        type="search"
        className="voices__search"
        value={query}
        placeholder="Search by name or language: German, pt-br…"
        aria-label="Search voices"
        onChange={(event) => setQuery(event.target.value)}
      />

      {!loaded && !loadError && <p className="voices__note">Loading voices…</p>}
      {loaded && shown.length === 0 && (
        <p className="voices__note">{query.trim() ? `No voice matches “${query.trim()}”.` : 'No voices.'}</p>
      )}

      <div className="voices__groups">
        {shown.map((group) => (
          <div key={group.key} className="voice-group" role="group" aria-labelledby={`voice-group-${group.key}`}>
            <h3 className="voice-group__name" id={`voice-group-${group.key}`}>
              {group.label}
            </h3>
            <ul className="voice-group__list" aria-label={`${group.label} voices`}>
              {group.voices.map((voice) => (
                <VoiceRow
                  key={voice.id}
                  voice={voice}
                  preview={preview?.voiceId === voice.id ? preview.state : IDLE}
                  play={() => void play(voice.id)}
                  stop={stop}
                />
              ))}
            </ul>
          </div>
        ))}
      </div>
    </section>
  );
}
