export const AVATAR_KINDS = ['builtin', 'photo', 'clip'] as const;
export type AvatarKind = (typeof AVATAR_KINDS)[number];

export const AVATAR_STATUSES = ['preparing', 'ready', 'failed', 'cancelled'] as const;
export type AvatarStatus = (typeof AVATAR_STATUSES)[number];

/** The built-in illustrated presenter's id. */
export const BUILTIN_AVATAR_ID = 'presenter';

/** An avatar as the Avatars screen and the editor show it. */
export interface AvatarSummary {
  id: string;
  name: string;
  kind: AvatarKind;
  status: AvatarStatus;
  /** Preparation progress, 0..1. */
  progress: number;
  /** Why preparation failed, for people. */
  error: string | null;
  /** A small PNG of the face, as a data: URL; null until prepared. */
  thumbnail: string | null;
  /** Whether a preview clip of the avatar saying a sample line exists (avatars:preview gives it). */
  hasPreview: boolean;
  createdAt: string;
}

export interface AvatarProgress {
  avatarId: string;
  progress: number;
  message?: string;
}

/** Lip-sync engines a render can use: the landmark warp needs no network; wav2lip needs an imported model. */
export const LIPSYNC_ENGINES = ['warp', 'wav2lip'] as const;
export type LipSyncEngine = (typeof LIPSYNC_ENGINES)[number];
