import type { StateCreator } from 'zustand';
import { BUILTIN_AVATAR_ID, type AvatarProgress, type AvatarSummary } from '../../src-shared/avatar';

export interface AvatarsSlice {
  /** Every avatar, keyed by id. */
  avatars: Record<string, AvatarSummary>;
  /** The latest progress message of each avatar in preparation ("Finding the face"). */
  avatarMessages: Record<string, string>;
  avatarsError: string | null;
  receiveAvatars(avatars: AvatarSummary[]): void;
  receiveAvatar(avatar: AvatarSummary): void;
  receiveAvatarProgress(progress: AvatarProgress): void;
  removeAvatar(avatarId: string): void;
  failAvatars(message: string): void;
}

/**
 * Pick what to show when a summary arrives. Summaries carry no timestamp, but preparation only
 * moves forward: once an avatar is ready, failed or cancelled, a late 'preparing' summary (the
 * import's answer overtaken by its `avatars:changed`) is stale; and progress events come more often
 * than summaries, so a summary of the same preparation never moves the bar backwards.
 */
function merge(current: AvatarSummary | undefined, incoming: AvatarSummary): AvatarSummary {
  if (!current) return incoming;
  if (incoming.status === 'preparing' && current.status !== 'preparing') return current;
  if (incoming.status === 'preparing' && current.progress > incoming.progress) {
    return { ...incoming, progress: current.progress };
  }
  return incoming;
}

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!Object.hasOwn(record, key)) return record;
  const next = { ...record };
  delete next[key];
  return next;
}

export const createAvatarsSlice: StateCreator<AvatarsSlice, [], [], AvatarsSlice> = (set) => ({
  avatars: {},
  avatarMessages: {},
  avatarsError: null,
  receiveAvatars: (avatars) =>
    set((state) => {
      // Merged, not replaced: an import answered while the list was on its way is not in it.
      const next = { ...state.avatars };
      for (const avatar of avatars) next[avatar.id] = merge(next[avatar.id], avatar);
      return { avatars: next, avatarsError: null };
    }),
  receiveAvatar: (avatar) =>
    set((state) => ({
      avatars: { ...state.avatars, [avatar.id]: merge(state.avatars[avatar.id], avatar) },
      avatarMessages: avatar.status === 'preparing' ? state.avatarMessages : without(state.avatarMessages, avatar.id),
    })),
  receiveAvatarProgress: ({ avatarId, progress, message }) =>
    set((state) => {
      const avatar = state.avatars[avatarId];
      // A late event must not revive a finished preparation; one for an avatar the store has not
      // seen yet is dropped, and the `avatars:changed` or import answer that follows fills it in.
      if (!avatar || avatar.status !== 'preparing') return state;
      return {
        avatars: { ...state.avatars, [avatarId]: { ...avatar, progress: Math.max(avatar.progress, progress) } },
        avatarMessages: message ? { ...state.avatarMessages, [avatarId]: message } : state.avatarMessages,
      };
    }),
  removeAvatar: (avatarId) =>
    set((state) => ({ avatars: without(state.avatars, avatarId), avatarMessages: without(state.avatarMessages, avatarId) })),
  failAvatars: (message) => set({ avatarsError: message }),
});

const builtinFirst = (a: AvatarSummary) => (a.kind === 'builtin' ? 0 : 1);

/** The built-in presenter first, then the user's avatars newest first (the order avatars:list gives). */
export function sortAvatars(avatars: Record<string, AvatarSummary>): AvatarSummary[] {
  return Object.values(avatars).sort(
    (a, b) => builtinFirst(a) - builtinFirst(b) || (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0),
  );
}

/** What a video may be rendered with: the built-in presenter and every ready avatar. */
export function choosableAvatars(avatars: Record<string, AvatarSummary>): AvatarSummary[] {
  return sortAvatars(avatars).filter((a) => a.id === BUILTIN_AVATAR_ID || a.status === 'ready');
}
