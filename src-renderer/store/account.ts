import type { StateCreator } from 'zustand';
import type { AccountDetails } from '../../src-shared/ipc';

export interface AccountSlice {
  /** What main last said about the account; null until account:get first answers. */
  account: AccountDetails | null;
  /** Why account:get failed, if it did (the account is then shown as last known). */
  accountError: string | null;
  /** Counts the accounts received, so an answer overtaken by a newer one is dropped. */
  accountVersion: number;
  receiveAccount(account: AccountDetails): void;
  failAccount(message: string): void;
}

export const createAccountSlice: StateCreator<AccountSlice, [], [], AccountSlice> = (set) => ({
  account: null,
  accountError: null,
  accountVersion: 0,
  receiveAccount: (account) => set((state) => ({ account, accountError: null, accountVersion: state.accountVersion + 1 })),
  failAccount: (message) => set({ accountError: message }),
});

/** "1 credit", "10 credits". */
export const formatCredits = (n: number) => `${n} ${n === 1 ? 'credit' : 'credits'}`;

/** What a tier allows, as the Account screen and the render bar say it. */
export function describeLimits(account: Pick<AccountDetails, 'maxQuality' | 'watermark'>): string {
  return `renders up to ${account.maxQuality}${account.watermark ? ', with a small “Made with Mouthpiece” mark' : ', without a watermark'}`;
}

/**
 * Main's refusal of a render because the credits known here do not cover it (checkCredits in
 * src-main/account/account.ts answers FORBIDDEN with a message starting "credits:").
 */
export function isCreditsRefusal(error: { code?: string; message: string } | null): boolean {
  return error !== null && error.code === 'FORBIDDEN' && error.message.startsWith('credits:');
}
