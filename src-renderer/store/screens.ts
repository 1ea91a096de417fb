import type { StateCreator } from 'zustand';

/** Screens a feature may send the user to (the editor opens through openEditor). */
export type RequestedScreen = 'account' | 'renders' | 'settings';

export interface ScreensSlice {
  /** The last screen asked for, numbered so that asking twice for the same one switches twice. */
  screenRequest: { screen: RequestedScreen; seq: number } | null;
  showScreen(screen: RequestedScreen): void;
}

export const createScreensSlice: StateCreator<ScreensSlice, [], [], ScreensSlice> = (set) => ({
  screenRequest: null,
  showScreen: (screen) => set((state) => ({ screenRequest: { screen, seq: (state.screenRequest?.seq ?? 0) + 1 } })),
});
