import { CreditsRefusal, CreditsWarning } from '../../components/CreditsNotice';
import { isCreditsRefusal } from '../../store/account';
import type { AccountSummary } from '../../../src-shared/ipc';
import { creditCost, estimateSeconds } from '../../../src-shared/project';
import type { EditorProject } from '../../store/editor';

/** Why render:start refused, with main's code so a refusal for credits is told apart. */
export interface RenderRefusal {
  code?: string;
  message: string;
}

/** "≈ 1 min 20 s": the estimate is rough, so whole seconds. */
export function formatLength(seconds: number): string {
  const whole = Math.max(1, Math.round(seconds));
  if (whole < 60) return `≈ ${whole} s`;
  const rest = whole % 60;
  return `≈ ${Math.floor(whole / 60)} min${rest ? ` ${rest} s` : ''}`;
}

/** "≈ 1 min 20 s · 2 credits · free: 8 left" */
export function estimateText(project: EditorProject, account: AccountSummary | null): string {
  const seconds = estimateSeconds(project);
  const cost = creditCost(seconds);
  const parts = [formatLength(seconds), `${cost} ${cost === 1 ? 'credit' : 'credits'}`];
  if (account) parts.push(`${account.tier}: ${account.credits} left`);
  return parts.join(' · ');
}

/** The length and cost of the video, and the Render button with what main said when it refused. */
export function RenderBar({
  project,
  account,
  accountError,
  busy,
  error,
  onRender,
  onOpenAccount,
}: {
  project: EditorProject;
  account: AccountSummary | null;
  accountError: string | null;
  busy: boolean;
  error: RenderRefusal | null;
  onRender(): void;
  onOpenAccount(): void;
}) {
  const cost = creditCost(estimateSeconds(project));
  const short = account !== null && account.credits < cost;
  const refusedForCredits = isCreditsRefusal(error);
  return (
    <div className="render-bar">
      <p className="render-bar__estimate" data-testid="estimate">
        {estimateText(project, account)}
      </p>
      <button type="button" className="button button--primary render-bar__button" disabled={busy} aria-describedby={error ? 'render-error' : undefined} onClick={onRender}>
        {busy ? 'Starting…' : 'Render'}
      </button>
      {/* Once main has refused, its message says the same and more; the warning would only repeat it. */}
      {short && !refusedForCredits && <CreditsWarning cost={cost} account={account} onOpenAccount={onOpenAccount} />}
      {accountError && <p className="field__hint">The account could not be read ({accountError}); the cost is an estimate.</p>}
      {error && refusedForCredits && <CreditsRefusal id="render-error" message={error.message} account={account} onOpenAccount={onOpenAccount} />}
      {error && !refusedForCredits && (
        <p className="compose__error" id="render-error" role="alert">
          {error.message}
        </p>
      )}
    </div>
  );
}
