import { invoke } from '../../api';
import { StatTotals } from '../../components/StatTotals';
import { useLoad } from '../../components/useLoad';
import { useStore } from '../../store';
import { MODEL_KINDS, type ModelKind, type ModelStatistics, type ModelSummary } from '../../../src-shared/model';
import { formatBytes, formatMs, kindHeading } from './format';

const TOP_PER_KIND = 3;

/** The registry's statistics and, per kind, the installed models ranked by measured speed, then use. */
export function ModelStats() {
  const revision = useStore((state) => state.modelsRevision);
  const stats = useLoad<ModelStatistics>(() => invoke('models:stats', {}), [revision]);
  // Ranked by main (fastest measured first, then most used); one call for every kind.
  const top = useLoad<ModelSummary[]>(() => invoke('models:top', { limit: 50 }), [revision]);
  const topByKind = (kind: ModelKind) => (top.kind === 'loaded' ? top.value.filter((model) => model.kind === kind).slice(0, TOP_PER_KIND) : []);
  const ranked = MODEL_KINDS.filter((kind) => topByKind(kind).length > 0);

  return (
    <section className="panel stats model-stats" aria-labelledby="model-stats-heading">
      <header className="panel__header">
        <h2 id="model-stats-heading">Statistics</h2>
      </header>
      {stats.kind === 'loading' && <p className="stats__hint">Reading the statistics…</p>}
      {stats.kind === 'failed' && (
        <p className="model__error" role="alert">
          The statistics could not be read: {stats.message}
        </p>
      )}
      {stats.kind === 'loaded' && (
        <>
          <StatTotals
            totals={[
              { label: 'Installed', value: stats.value.installed, testId: 'models-installed' },
              { label: 'On disk', value: formatBytes(stats.value.bytes), testId: 'models-bytes' },
              { label: 'Downloads', value: stats.value.downloads, testId: 'models-downloads' },
              { label: 'Failures', value: stats.value.failures, testId: 'models-failures' },
            ]}
          />

          <table className="stats__speed model-stats__kinds">
            <caption>By kind</caption>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Installed</th>
                <th scope="col">Size</th>
              </tr>
            </thead>
            <tbody>
              {MODEL_KINDS.map((kind) => {
                const row = stats.value.byKind[kind];
                return (
                  <tr key={kind} aria-label={kindHeading(kind)}>
                    <th scope="row">{kindHeading(kind)}</th>
                    <td>{row.installed}</td>
                    <td>{row.installed > 0 ? formatBytes(row.bytes) : '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {stats.value.unused > 0 && (
            <p className="stats__hint">{stats.value.unused === 1 ? '1 installed model has' : `${stats.value.unused} installed models have`} not been used yet.</p>
          )}
        </>
      )}

      <h3 className="stats__heading">Top performing</h3>
      {top.kind === 'failed' && (
        <p className="model__error" role="alert">
          The ranking could not be read: {top.message}
        </p>
      )}
      {top.kind === 'loaded' && ranked.length === 0 && <p className="stats__hint">Install a model and measure it to rank it here.</p>}
      {ranked.map((kind) => (
        <div key={kind} className="model-top">
          <h4 className="model-top__kind">{kindHeading(kind)}</h4>
          <ol className="model-top__list" aria-label={`Top ${kindHeading(kind).toLowerCase()} models`}>
            {topByKind(kind).map((model) => (
              <li key={model.id}>
                <span className="model-top__name">
                  {model.name}
                  {model.active && <span className="model-top__active"> · active</span>}
                </span>
                <span className="model-top__figure">
                  {model.bestMs !== null ? formatMs(model.bestMs) : 'not measured'}
                  {' · '}
                  {model.usageCount === 0 ? 'not used yet' : model.usageCount === 1 ? 'used once' : `used ${model.usageCount} times`}
                </span>
              </li>
            ))}
          </ol>
        </div>
      ))}
    </section>
  );
}
