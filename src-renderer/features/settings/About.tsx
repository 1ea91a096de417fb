import { invoke } from '../../api';
import { useLoad } from '../../components/useLoad';
import type { AppInfo } from '../../../src-shared/ipc';

/** What `app:info` answers: the version, where the data lives, the ffmpeg and onnxruntime's providers. */
export function About() {
  const info = useLoad<AppInfo>(() => invoke('app:info', {}), []);

  return (
    <section className="settings__section" aria-labelledby="settings-about-heading">
      <h3 id="settings-about-heading">About Mouthpiece</h3>
      {info.kind === 'loading' && (
        <p className="choice__status" role="status">
          <span className="spinner" aria-hidden="true" /> Reading the version…
        </p>
      )}
      {info.kind === 'failed' && (
        <p className="choice__error" role="alert">
          The app's details could not be read: {info.message}
        </p>
      )}
      {info.kind === 'loaded' && (
        <>
          <dl className="about" aria-label="About Mouthpiece">
            <dt>Version</dt>
            <dd>{info.value.version}</dd>
            <dt>Where your data lives</dt>
            <dd>
              <code>{info.value.dataDir}</code>
            </dd>
            <dt>ffmpeg in use</dt>
            <dd>
              <code>{info.value.ffmpeg}</code>
            </dd>
          </dl>
          <table className="encoders" aria-label="Execution providers">
            <thead>
              <tr>
                <th scope="col">onnxruntime provider</th>
                <th scope="col">On this computer</th>
              </tr>
            </thead>
            <tbody>
              {info.value.providers.map((provider) => (
                <tr key={provider.name} className={provider.available ? 'encoders__row encoders__row--ok' : 'encoders__row'}>
                  <th scope="row">
                    <code>{provider.name}</code>
                  </th>
                  <td>
                    {provider.available ? (
                      <span className="badge badge--completed">Available</span>
                    ) : (
                      <span className="encoders__reason">{provider.reason ?? 'Not available'}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
