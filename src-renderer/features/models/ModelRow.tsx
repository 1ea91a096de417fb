import { useState } from 'react';
import { invoke } from '../../api';
import { useStore } from '../../store';
import { MODEL_KIND_LABELS, type ModelSummary } from '../../../src-shared/model';
import { formatBytes, formatMs, measuredProviders, PROVIDER_LABELS } from './format';
import { useAction } from '../../components/useAction';

/** One installed model: what it is, how fast it ran, and what can be done with it. */
export function ModelRow({ model }: { model: ModelSummary }) {
  const receiveModel = useStore((state) => state.receiveModel);
  const { busy, error, act } = useAction<'activating' | 'measuring' | 'removing'>();
  const [acknowledging, setAcknowledging] = useState(false);
  const [confirmingRemove, setConfirmingRemove] = useState(false);
  const kindLabel = MODEL_KIND_LABELS[model.kind];
  const providers = measuredProviders(model);

  const activate = (acknowledgeLicence: boolean) =>
    act('activating', async () => {
      setAcknowledging(false);
      receiveModel(await invoke('models:activate', { modelId: model.id, ...(acknowledgeLicence ? { acknowledgeLicence } : {}) }));
    });
  // Main sends no event for a measurement; the answer is the model with its new latencies.
  const measure = () => act('measuring', async () => receiveModel(await invoke('models:measure', { modelId: model.id })));
  const remove = () =>
    act('removing', async () => {
      setConfirmingRemove(false);
      await invoke('models:remove', { modelId: model.id });
      useStore.getState().dropModel(model.id);
    });

  return (
    <li className={`model${model.active ? ' model--active' : ''}`} aria-label={model.name}>
      <div className="model__head">
        <h4 className="model__name">{model.name}</h4>
        {model.active && <span className="badge badge--ready">Active for {kindLabel}</span>}
        {!model.commercialUse && <span className="badge badge--noncommercial">Not for commercial use</span>}
      </div>

      <dl className="model__facts">
        <div>
          <dt>Version</dt>
          <dd>{model.version ?? '—'}</dd>
        </div>
        {model.language && (
          <div>
            <dt>Language</dt>
            <dd>{model.language}</dd>
          </div>
        )}
        <div>
          <dt>Size</dt>
          <dd>{formatBytes(model.bytes)}</dd>
        </div>
        <div>
          <dt>Used</dt>
          <dd>{model.usageCount === 1 ? 'once' : `${model.usageCount} times`}</dd>
        </div>
        <div className="model__fact--wide">
          <dt>Licence</dt>
          <dd>{model.licence}</dd>
        </div>
        <div className="model__fact--wide">
          <dt>{model.origin === 'import' ? 'Imported from' : 'Downloaded from'}</dt>
          <dd>
            <code>{model.source ?? '—'}</code>
          </dd>
        </div>
      </dl>

      <div className="model__latency" aria-label={`Latency of ${model.name}`}>
        <span className="model__latency-label">Latency</span>
        {providers.length === 0 ? (
          <span className="model__latency-none">not measured yet</span>
        ) : (
          <ul>
            {providers.map((provider) => {
              const measured = model.latency[provider]!;
              return 'ms' in measured ? (
                <li key={provider} className={measured.ms === model.bestMs ? 'model__latency--best' : undefined}>
                  <span className="model__provider">{PROVIDER_LABELS[provider]}</span> {formatMs(measured.ms)}
                </li>
              ) : (
                <li key={provider} className="model__latency--error" title={measured.error}>
                  <span className="model__provider">{PROVIDER_LABELS[provider]}</span> could not run: {measured.error}
                </li>
              );
            })}
          </ul>
        )}
      </div>

      {acknowledging && (
        <div className="model__acknowledge" role="group" aria-label={`Licence of ${model.name}`}>
          <p>
            <strong>{model.name} is not for commercial use.</strong> Its licence ({model.licence}) does not allow commercial
            use, so videos made with it may be used only as that licence allows.
          </p>
          <div className="model__actions">
            <button type="button" className="button button--primary" onClick={() => void activate(true)}>
              I understand, use it for {kindLabel}
            </button>
            <button type="button" className="button button--quiet" onClick={() => setAcknowledging(false)}>
              Keep the current one
            </button>
          </div>
        </div>
      )}

      {confirmingRemove && (
        <div className="model__acknowledge" role="group" aria-label={`Remove ${model.name}`}>
          <p>
            Remove {model.name}? Its files are deleted
            {model.active ? ` and the ${kindLabel} goes back to the built-in default` : ''}.
          </p>
          <div className="model__actions">
            <button type="button" className="button button--danger" onClick={() => void remove()}>
              Remove
            </button>
            <button type="button" className="button button--quiet" onClick={() => setConfirmingRemove(false)}>
              Keep it
            </button>
          </div>
        </div>
      )}

      {!acknowledging && !confirmingRemove && (
        <div className="model__actions">
          {!model.active && (
            <button
              type="button"
              className="button button--quiet"
              disabled={busy !== null}
              onClick={() => (model.commercialUse ? void activate(false) : setAcknowledging(true))}
            >
              {busy === 'activating' ? 'Activating…' : `Use for ${kindLabel}`}
            </button>
          )}
          <button type="button" className="button button--quiet" disabled={busy !== null} aria-busy={busy === 'measuring'} onClick={() => void measure()}>
            {busy === 'measuring' ? 'Measuring…' : providers.length > 0 ? 'Measure again' : 'Measure'}
          </button>
          <button type="button" className="button button--quiet" disabled={busy !== null} onClick={() => setConfirmingRemove(true)}>
            {busy === 'removing' ? 'Removing…' : 'Remove'}
          </button>
        </div>
      )}

      {error && (
        <p className="model__error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}
