import { useMemo, useState } from 'react';
import { invoke, pathForFile } from '../../api';
import { ImportButton } from '../../components/ImportButton';
import { useLoad } from '../../components/useLoad';
import { useStore } from '../../store';
import { MODEL_KINDS, MODEL_KIND_LABELS, type CatalogueEntry, type ModelKind, type ModelSearchPage, type ModelSummary } from '../../../src-shared/model';
import { CatalogueRow } from './CatalogueRow';
import { kindHeading, messageOf } from './format';
import { ModelRow } from './ModelRow';

const PAGE_SIZE = 10;

type Commercial = 'any' | 'yes' | 'no';

interface Filters {
  text: string;
  kind: ModelKind | '';
  language: string;
  licence: string;
  commercial: Commercial;
}

const NO_FILTERS: Filters = { text: '', kind: '', language: '', licence: '', commercial: 'any' };

const filtered = (filters: Filters) =>
  filters.text.trim() !== '' || filters.kind !== '' || filters.language.trim() !== '' || filters.licence.trim() !== '' || filters.commercial !== 'any';

/** Items in MODEL_KINDS order, one group per kind that has any. */
function groupByKind<T extends { kind: ModelKind }>(items: T[]): { kind: ModelKind; items: T[] }[] {
  return MODEL_KINDS.map((kind) => ({ kind, items: items.filter((item) => item.kind === kind) })).filter((group) => group.items.length > 0);
}

function ImportModel() {
  const receiveModel = useStore((state) => state.receiveModel);
  const [kind, setKind] = useState<ModelKind | ''>('');
  const [licence, setLicence] = useState('');
  const [commercialUse, setCommercialUse] = useState(false);
  const [importing, setImporting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [imported, setImported] = useState<ModelSummary | null>(null);

  async function importFile(file: File) {
    setError(null);
    setImported(null);
    const path = pathForFile(file);
    if (!path) {
      setError(`${file.name}: not a file on this computer; save it to a folder first, then import it from there`);
      return;
    }
    setImporting(true);
    try {
      const model = await invoke('models:import', {
        path,
        ...(kind ? { kind } : {}),
        ...(licence.trim() ? { licence: licence.trim() } : {}),
        commercialUse,
      });
      receiveModel(model);
      setImported(model);
      // What was said about this file's kind and licence is not true of the next one.
      setKind('');
      setLicence('');
      setCommercialUse(false);
    } catch (failure) {
      setError(messageOf(failure));
      useStore.getState().refreshModels();
    } finally {
      setImporting(false);
    }
  }

  return (
    <div className="models__import">
      <div className="models__import-text">
        <p className="models__import-title">Import a model from a file</p>
        <p className="models__import-hint">
          An <code>.onnx</code> file whose inputs and outputs fit what the app feeds that kind of model. A Piper voice needs
          its <code>.onnx.json</code> in the same folder.
        </p>
      </div>
      <div className="models__import-fields">
        <label className="models__field">
          <span>Kind</span>
          <select value={kind} onChange={(event) => setKind(event.target.value as ModelKind | '')}>
            <option value="">Found from the model</option>
            {MODEL_KINDS.map((k) => (
              <option key={k} value={k}>
                {kindHeading(k)}
              </option>
            ))}
          </select>
        </label>
        <label className="models__field models__field--grow">
          <span>Licence (optional)</span>
          <input type="text" value={licence} placeholder="e.g. MIT" onChange={(event) => setLicence(event.target.value)} />
        </label>
        <label className="models__check">
          <input type="checkbox" checked={commercialUse} onChange={(event) => setCommercialUse(event.target.checked)} />
          <span>Its licence allows commercial use</span>
        </label>
        <ImportButton label="Import .onnx" busy={importing} accept=".onnx" fileLabel="Model file to import" onFile={(file) => void importFile(file)} />
      </div>
      {error && (
        <p className="model__error" role="alert">
          {error}
        </p>
      )}
      {imported && (
        <p className="models__imported" role="status">
          Imported {imported.name} as a {MODEL_KIND_LABELS[imported.kind]} model.
        </p>
      )}
    </div>
  );
}

function SearchFilters({ filters, onChange }: { filters: Filters; onChange(next: Filters): void }) {
  const set = <K extends keyof Filters>(key: K, value: Filters[K]) => onChange({ ...filters, [key]: value });
  return (
    <div className="models__filters" role="search" aria-label="Search installed models">
      <input
        type="search"
        className="models__search"
        value={filters.text}
        placeholder="Search by name…"
        aria-label="Search models"
        onChange={(event) => set('text', event.target.value)}
      />
      <select aria-label="Filter by kind" value={filters.kind} onChange={(event) => set('kind', event.target.value as ModelKind | '')}>
        <option value="">Every kind</option>
        {MODEL_KINDS.map((kind) => (
          <option key={kind} value={kind}>
            {kindHeading(kind)}
          </option>
        ))}
      </select>
      <input type="text" value={filters.language} placeholder="Language" aria-label="Filter by language" onChange={(event) => set('language', event.target.value)} />
      <input type="text" value={filters.licence} placeholder="Licence" aria-label="Filter by licence" onChange={(event) => set('licence', event.target.value)} />
      <select aria-label="Filter by commercial use" value={filters.commercial} onChange={(event) => set('commercial', event.target.value as Commercial)}>
        <option value="any">Any use</option>
        <option value="yes">Commercial use allowed</option>
        <option value="no">Not for commercial use</option>
      </select>
    </div>
  );
}

function Installed() {
  const revision = useStore((state) => state.modelsRevision);
  const loadError = useStore((state) => state.modelsError);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [offset, setOffset] = useState(0);
  const search = useMemo(
    () => ({
      text: filters.text.trim() || undefined,
      kind: filters.kind || undefined,
      language: filters.language.trim() || undefined,
      licence: filters.licence.trim() || undefined,
      commercialUse: filters.commercial === 'any' ? undefined : filters.commercial === 'yes',
      status: 'installed' as const,
      limit: PAGE_SIZE,
      offset,
    }),
    [filters, offset],
  );
  const load = useLoad<ModelSearchPage>(() => invoke('models:search', search), [search, revision]);
  const page = load.kind === 'loaded' ? load.value : null;

  const change = (next: Filters) => {
    setFilters(next);
    setOffset(0);
  };
  const groups = page ? groupByKind(page.items) : [];
  const last = page ? Math.min(page.offset + page.items.length, page.total) : 0;

  return (
    <section className="panel models" aria-labelledby="models-heading">
      <header className="panel__header">
        <h2 id="models-heading">Models</h2>
        {page && <span className="panel__count">{page.total === 1 ? '1 installed' : `${page.total} installed`}{filtered(filters) ? ' matching' : ''}</span>}
      </header>
      <ImportModel />
      <SearchFilters filters={filters} onChange={change} />

      {loadError && (
        <p className="model__error" role="alert">
          The models could not be loaded: {loadError}
        </p>
      )}
      {load.kind === 'failed' && (
        <p className="model__error" role="alert">
          The search failed: {load.message}
        </p>
      )}
      {page && page.total === 0 && (
        <p className="models__note">
          {filtered(filters)
            ? 'No installed model matches.'
            : 'No models installed yet: the app downloads the ones it needs when a render first needs them. Download one from the catalogue below or import an .onnx file to choose your own.'}
        </p>
      )}

      {groups.map((group) => (
        <div key={group.kind} className="model-group" role="group" aria-labelledby={`model-group-${group.kind}`}>
          <h3 className="model-group__name" id={`model-group-${group.kind}`}>
            {kindHeading(group.kind)}
          </h3>
          <ul className="model-group__list" aria-label={`Installed ${MODEL_KIND_LABELS[group.kind]} models`}>
            {group.items.map((model) => (
              <ModelRow key={model.id} model={model} />
            ))}
          </ul>
        </div>
      ))}

      {page && page.total > PAGE_SIZE && (
        <nav className="models__pages" aria-label="Pages of models">
          <button type="button" className="button button--quiet" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
            Previous
          </button>
          <span>
            {page.offset + 1}–{last} of {page.total}
          </span>
          <button type="button" className="button button--quiet" disabled={last >= page.total} onClick={() => setOffset(offset + PAGE_SIZE)}>
            Next
          </button>
        </nav>
      )}
    </section>
  );
}

function Catalogue() {
  const revision = useStore((state) => state.modelsRevision);
  const load = useLoad<CatalogueEntry[]>(() => invoke('models:catalogue', {}), [revision]);
  const entries = load.kind === 'loaded' ? load.value : null;

  return (
    <section className="panel catalogue" aria-labelledby="catalogue-heading">
      <header className="panel__header">
        <h2 id="catalogue-heading">Catalogue</h2>
        {entries && <span className="panel__count">{entries.length} downloadable</span>}
      </header>
      <p className="models__note">Size and licence are shown before you download. Each file is checked against its checksum before it is used.</p>
      {load.kind === 'failed' && (
        <p className="model__error" role="alert">
          The catalogue could not be read: {load.message}
        </p>
      )}
      {entries &&
        groupByKind(entries).map((group) => (
          <div key={group.kind} className="model-group" role="group" aria-labelledby={`catalogue-group-${group.kind}`}>
            <h3 className="model-group__name" id={`catalogue-group-${group.kind}`}>
              {kindHeading(group.kind)}
            </h3>
            <ul className="model-group__list" aria-label={`Downloadable ${MODEL_KIND_LABELS[group.kind]} models`}>
              {group.items.map((entry) => (
                <CatalogueRow key={entry.id} entry={entry} />
              ))}
            </ul>
          </div>
        ))}
    </section>
  );
}

/** Installed models with search, the catalogue below them; ModelStats goes beside. */
export function Models() {
  return (
    <div className="models__column">
      <Installed />
      <Catalogue />
    </div>
  );
}
