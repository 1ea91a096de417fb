import { useCallback, useEffect, useRef, useState } from 'react';
import { invoke } from '../../api';
import { CreditsRefusal } from '../../components/CreditsNotice';
import { Field, FileField, fileName, takeValue } from '../../components/fields';
import { useStore } from '../../store';
import { formatCredits, isCreditsRefusal } from '../../store/account';
import type { EditorProject } from '../../store/editor';
import type { BatchCheck } from '../../../src-shared/batch';
import { errorCode } from '../../../src-shared/errors';
import { saveOrThrow } from './autosave';
import { formatLength } from './RenderBar';
import './Batch.css';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

const VARIABLE = /\{\{[^{}]*\}\}/;

const videosText = (n: number) => `${n} ${n === 1 ? 'video' : 'videos'}`;

/** "first_name, shop"; "none" for an empty list. */
const listText = (names: string[]) => (names.length > 0 ? names.join(', ') : 'none');

/** What the check found: the rows, the variables against the columns, the cost, and every problem with its row. */
function CheckResult({ check }: { check: BatchCheck }) {
  const account = useStore((state) => state.account);
  return (
    <div className="batch__check" data-testid="batch-check">
      <dl className="batch__facts">
        <div>
          <dt>Rows</dt>
          <dd>{check.rows}</dd>
        </div>
        <div>
          <dt>Variables</dt>
          <dd>{listText(check.variables)}</dd>
        </div>
        <div>
          <dt>Columns</dt>
          <dd>{listText(check.columns)}</dd>
        </div>
        <div>
          <dt>In all</dt>
          <dd data-testid="batch-estimate">
            {formatLength(check.seconds)} · {formatCredits(check.credits)}
            {account && ` · ${account.credits} left`}
          </dd>
        </div>
      </dl>
      {account !== null && account.credits < check.credits && (
        <p className="render-bar__warn">
          The batch costs about {formatCredits(check.credits)} and {account.credits === 1 ? '1 is' : `${account.credits} are`} left this month, so it will not render. Use a CSV with fewer rows, or shorten the script.
        </p>
      )}
      {check.issues.length > 0 && (
        <div className="batch__issues" role="alert">
          <p className="batch__issues-title">
            {check.issues.length === 1 ? 'One problem' : `${check.issues.length} problems`} to fix before the batch can render:
          </p>
          <ul aria-label="Problems with the CSV">
            {/* Main's messages name their row ("row 3: ...") or the file themselves. */}
            {check.issues.map((issue, index) => (
              <li key={index} className="batch__issue">
                {issue.message}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

/**
 * Personalised batch: the script's {{variables}} filled in from a CSV's columns, one video per row.
 * The CSV is checked when picked and again each time the project is saved, so what is shown
 * matches what would render; "Render N videos" is there only for a clean check.
 */
export function BatchPanel({ videoId, project, onStarted }: { videoId: string; project: EditorProject; onStarted(): void }) {
  const savedRevision = useStore((state) => state.savedRevision);
  const account = useStore((state) => state.account);
  const { receiveBatch, showScreen } = useStore.getState();
  const [csvPath, setCsvPath] = useState<string | null>(null);
  const [check, setCheck] = useState<BatchCheck | null>(null);
  const [checking, setChecking] = useState(false);
  const [checkError, setCheckError] = useState<string | null>(null);
  const [outDir, setOutDir] = useState('');
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<{ code?: string; message: string } | null>(null);
  // Only the latest check's answer is shown: an earlier one may answer after it.
  const latestCheck = useRef(0);

  const runCheck = useCallback(
    async (path: string) => {
      const request = ++latestCheck.current;
      setChecking(true);
      try {
        // The check reads the saved project, so what was typed must be saved first.
        await saveOrThrow();
        const answer = await invoke('batches:check', { videoId, csvPath: path });
        if (request !== latestCheck.current) return;
        setCheck(answer);
        setCheckError(null);
      } catch (error) {
        if (request !== latestCheck.current) return;
        setCheck(null);
        setCheckError(messageOf(error));
      } finally {
        if (request === latestCheck.current) setChecking(false);
      }
    },
    [videoId],
  );

  // Each save can change the variables the script uses, so the CSV is checked again.
  useEffect(() => {
    if (csvPath) void runCheck(csvPath);
  }, [csvPath, savedRevision, runCheck]);

  function pick(path: string) {
    setStartError(null);
    setCheck(null);
    setCheckError(null);
    if (path === csvPath) void runCheck(path);
    else setCsvPath(path);
  }

  async function start() {
    if (!csvPath) return;
    setStarting(true);
    setStartError(null);
    try {
      await saveOrThrow();
      const dir = outDir.trim();
      receiveBatch(await invoke('batches:start', { videoId, csvPath, ...(dir ? { outDir: dir } : {}) }));
      onStarted();
    } catch (error) {
      setStartError({ code: errorCode(error), message: messageOf(error) });
      // The CSV may have changed on disk since it was checked; show what main found now.
      void runCheck(csvPath);
    } finally {
      setStarting(false);
    }
  }

  const usesVariables = project.scenes.some((scene) => VARIABLE.test(scene.text)) || VARIABLE.test(project.title ?? '');
  const clean = check !== null && check.issues.length === 0 && check.rows > 0;
  const refusedForCredits = isCreditsRefusal(startError);

  return (
    <section className="batch" aria-labelledby="batch-heading">
      <h3 className="batch__heading" id="batch-heading">
        Personalise with a CSV
      </h3>
      <p className="field__hint">
        Write <code>{'{{first_name}}'}</code> (or any name in double braces) in the script, then pick a CSV file with a column of that name: each row of the file
        becomes its own video, with its values filled in.
      </p>
      {!usesVariables && <p className="field__hint">This script has no variables yet.</p>}

      <FileField id="batch-csv" label="CSV file" accept=".csv,text/csv" onPick={pick}>
        {csvPath && (
          <p className="batch__file">
            <code>{fileName(csvPath)}</code>
            <button type="button" className="button button--quiet" disabled={checking} onClick={() => void runCheck(csvPath)}>
              Check again
            </button>
          </p>
        )}
      </FileField>

      {checking && (
        <p className="choice__status" role="status">
          <span className="spinner" aria-hidden="true" /> Checking the CSV…
        </p>
      )}
      {checkError && (
        <p className="compose__error" role="alert">
          The CSV could not be checked: {checkError}
        </p>
      )}
      {check && <CheckResult check={check} />}

      {csvPath && (
        <Field id="batch-out-dir" label="Output folder (optional)">
          <input id="batch-out-dir" type="text" value={outDir} placeholder="A new folder among the library’s videos" aria-describedby="batch-out-dir-hint" onChange={takeValue(setOutDir)} />
          <p className="field__hint" id="batch-out-dir-hint">
            Left empty, the videos and the results CSV go to a new folder for this batch in the library’s videos folder.
          </p>
        </Field>
      )}

      {csvPath && (
        <button type="button" className="button button--primary batch__render" disabled={!clean || checking || starting} onClick={() => void start()}>
          {starting ? 'Starting…' : check ? `Render ${videosText(check.rows)}` : 'Render the batch'}
        </button>
      )}
      {startError && refusedForCredits && <CreditsRefusal message={startError.message} account={account} onOpenAccount={() => showScreen('account')} />}
      {startError && !refusedForCredits && (
        <p className="compose__error" role="alert">
          The batch could not start: {startError.message}
        </p>
      )}
    </section>
  );
}
