import type { AccountSummary } from '../../src-shared/ipc';
import { formatCredits } from '../store/account';

/** What the user can do about credits that do not cover a render, by who they are signed in as. */
function whatToDo(account: AccountSummary | null): string {
  if (!account?.signedIn) return 'Shorten the script, wait for next month’s credits, or sign in to an account with credits left.';
  if (account.tier === 'free') return 'Shorten the script, wait for next month’s credits, or upgrade the account to Premium (600 credits a month).';
  return 'Shorten the script, or wait for next month’s credits.';
}

/**
 * Main's refusal of a render for want of credits, shown as it came, with the way to the Account
 * screen (to sign in, sync, or see what is left).
 */
export function CreditsRefusal({ message, account, id, onOpenAccount }: { message: string; account: AccountSummary | null; id?: string; onOpenAccount(): void }) {
  return (
    <div className="credits-notice credits-notice--refused" id={id} role="alert">
      <p className="credits-notice__title">Not enough credits to render</p>
      <p className="credits-notice__message">{message}</p>
      <button type="button" className="button button--quiet" onClick={onOpenAccount}>
        {account?.signedIn ? 'Open the Account screen' : 'Sign in'}
      </button>
    </div>
  );
}

/** Said before Render is clicked, when the estimate is more than the credits left. */
export function CreditsWarning({ cost, account, onOpenAccount }: { cost: number; account: AccountSummary; onOpenAccount(): void }) {
  return (
    <div className="credits-notice" role="status" data-testid="credits-warning">
      <p className="credits-notice__message">
        This video costs about {formatCredits(cost)} and {account.credits === 1 ? '1 is' : `${account.credits} are`} left this month, so it will not render.{' '}
        {whatToDo(account)}
      </p>
      <button type="button" className="button button--quiet" onClick={onOpenAccount}>
        {account.signedIn ? 'Open the Account screen' : 'Sign in'}
      </button>
    </div>
  );
}
