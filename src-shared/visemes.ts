/**
 * Mouth shapes shared by the mouth track and every avatar that draws a mouth.
 * A Preston Blair style set: enough shapes for readable speech, few enough to pre-render.
 */
export const VISEMES = [
  'rest', // closed, relaxed
  'MBP', // lips pressed together
  'AI', // wide open (a, ai, ae)
  'E', // open and spread (e, i)
  'O', // open and round (o, aw)
  'U', // small round pucker (u, w, oo)
  'FV', // lower lip tucked under the upper teeth
  'L', // open, tongue behind the upper teeth (l, th, n, d, t)
  'CDG', // teeth nearly closed (s, z, k, g, ch, j, r, y)
] as const;
export type Viseme = (typeof VISEMES)[number];

/** How open each shape is, 0..1: used to judge motion and to smooth transitions. */
export const VISEME_OPENNESS: Record<Viseme, number> = {
  rest: 0,
  MBP: 0,
  AI: 1,
  E: 0.6,
  O: 0.8,
  U: 0.35,
  FV: 0.2,
  L: 0.5,
  CDG: 0.25,
};
