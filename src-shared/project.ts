import { z } from 'zod';

export const FORMATS = ['16:9', '9:16', '1:1'] as const;
export const QUALITIES = ['720p', '1080p', '2160p'] as const;
export const AVATAR_LAYOUTS = ['full', 'left', 'right', 'bubble'] as const;
/** How one scene gives way to the next. */
export const TRANSITIONS = ['cut', 'fade'] as const;
/** 'highlight' colours the word being spoken; 'none' burns nothing in (the SRT and VTT are still written). */
export const CAPTION_STYLES = ['highlight', 'plain', 'boxed', 'none'] as const;
export const LOGO_POSITIONS = ['top-left', 'top-right', 'bottom-left', 'bottom-right'] as const;

export type Format = (typeof FORMATS)[number];
export type Quality = (typeof QUALITIES)[number];
export type AvatarLayout = (typeof AVATAR_LAYOUTS)[number];
export type Transition = (typeof TRANSITIONS)[number];
export type CaptionStyle = (typeof CAPTION_STYLES)[number];
export type LogoPosition = (typeof LOGO_POSITIONS)[number];

/** Longest script we accept in one project; a scene's text is spoken, so this is ~1 hour of speech. */
export const MAX_SCRIPT_CHARS = 40_000;
export const MAX_SCENES = 200;

export const colourSchema = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #1e293b');
const colour = colourSchema;

export const backgroundSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('colour'), colour }),
  z.object({ type: z.literal('gradient'), from: colour, to: colour, angle: z.number().min(0).max(360).default(180) }),
  z.object({ type: z.literal('image'), path: z.string().min(1) }),
  /** A video file, looped for as long as the scene lasts (its own sound is not used). */
  z.object({ type: z.literal('video'), path: z.string().min(1) }),
]);
export type Background = z.infer<typeof backgroundSchema>;

/** Slowest and fastest speaking pace, relative to the voice's own. */
export const SPEED_RANGE = [0.5, 2] as const;
const speed = z.number().min(SPEED_RANGE[0]).max(SPEED_RANGE[1]);

export const sceneSchema = z
  .object({
    /** What is said; `[pause 1s]` inserts silence. With `audio`, the transcript (optional). */
    text: z.string().transform((s) => s.trim()),
    background: backgroundSchema.optional(),
    avatarLayout: z.enum(AVATAR_LAYOUTS).optional(),
    /** How this scene comes in after the one before (the template's, when unset). */
    transition: z.enum(TRANSITIONS).optional(),
    /** This scene's voice, instead of the project's. */
    voice: z.string().min(1).optional(),
    /** This scene's pace, instead of the project's. */
    speed: speed.optional(),
    /** The user's own recording speaks this scene instead of a voice. */
    audio: z
      .object({
        path: z.string().min(1),
        /** Trim leading and trailing silence. */
        trim: z.boolean().default(true),
      })
      .optional(),
  })
  .refine((scene) => scene.text.length > 0 || scene.audio, { message: 'a scene needs some text to speak (or a recording)', path: ['text'] });
export type Scene = z.infer<typeof sceneSchema>;

/** The brand a project carries: a logo and colours for captions and cards. */
export const brandSchema = z.object({
  logo: z
    .object({
      /** PNG (transparency kept), JPEG or WebP. */
      path: z.string().min(1),
      position: z.enum(LOGO_POSITIONS).default('top-right'),
      /** Width as a fraction of the frame's width. */
      size: z.number().min(0.04).max(0.4).default(0.12),
    })
    .optional(),
  /** The highlighted word and the cards' main colour. */
  primary: colour.optional(),
  /** The cards' second colour (their gradient runs from primary to it). */
  secondary: colour.optional(),
});
export type Brand = z.infer<typeof brandSchema>;

/** A title card before the first scene or after the last one. */
export const cardSchema = z.object({
  /** Defaults to the project's title (intro) or "Thanks for watching" (outro). */
  text: z.string().trim().max(120).optional(),
  seconds: z.number().min(1).max(10).default(2.5),
});
export type Card = z.infer<typeof cardSchema>;

export const PROJECT_VERSION = 2;

/**
 * Bring a stored project to the current version. Version 1 (the foundation's) had no captions,
 * brand, cards or transitions; everything it had keeps its meaning, so only the number changes.
 */
export function upgradeProject(input: unknown): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input;
  const project = input as Record<string, unknown>;
  if (project.version === undefined || project.version === 1) return { ...project, version: PROJECT_VERSION };
  return project;
}

export const projectSchema = z
  .object({
    /** Files of version 1 are read as they are: every field they had keeps its meaning. */
    version: z
      .union([z.literal(1), z.literal(PROJECT_VERSION)])
      .default(PROJECT_VERSION)
      .transform(() => PROJECT_VERSION),
    title: z.string().trim().min(1).max(200).default('Untitled video'),
    /** Defaults to the template's format. */
    format: z.enum(FORMATS).optional(),
    quality: z.enum(QUALITIES).default('720p'),
    template: z.string().min(1).default('studio'),
    avatar: z.string().min(1).default('presenter'),
    voice: z.string().min(1).default('espeak:en-us'),
    /**
     * How a photo avatar's mouth is animated: 'warp' (the landmark warp, no network needed) or the
     * path of a Wav2Lip-compatible ONNX model the user imported. The built-in presenter draws its
     * own mouth and ignores this.
     */
    lipSync: z.string().min(1).default('warp'),
    /** Speaking pace relative to the voice's own, 0.5 to 2. */
    speed: speed.default(1),
    /** Caption look (the template's, when unset). */
    captions: z.object({ style: z.enum(CAPTION_STYLES).optional() }).default({}),
    brand: brandSchema.default({}),
    intro: cardSchema.optional(),
    outro: cardSchema.optional(),
    /** Force one video encoder (e.g. libx264, h264_nvenc) instead of the fastest one found. */
    encoder: z.string().regex(/^[a-z0-9_]+$/, 'an ffmpeg encoder name like libx264').optional(),
    scenes: z.array(sceneSchema).min(1, 'a project needs at least one scene').max(MAX_SCENES),
  })
  .superRefine((project, ctx) => {
    const chars = project.scenes.reduce((n, s) => n + s.text.length, 0);
    if (chars > MAX_SCRIPT_CHARS) {
      ctx.addIssue({
        code: 'custom',
        path: ['scenes'],
        message: `the script has ${chars} characters; the limit is ${MAX_SCRIPT_CHARS}. Split it into several videos`,
      });
    }
  });
export type ProjectInput = z.input<typeof projectSchema>;
export type Project = z.infer<typeof projectSchema>;

/** Speaking rate used to estimate a script's length before it is spoken (espeak-ng's default pace). */
export const WORDS_PER_SECOND = 2.6;

/** Estimated length of the finished video in seconds: speech, pauses, padding and cards. */
export function estimateSeconds(project: Pick<ProjectInput, 'scenes' | 'speed' | 'intro' | 'outro'>): number {
  const speed = project.speed ?? 1;
  let seconds = 0.4 + 0.6;
  for (const [i, scene] of (project.scenes ?? []).entries()) {
    const text = scene.text ?? '';
    const pauses = [...text.matchAll(/\[pause\s+(\d+(?:\.\d+)?)\s*(ms|s)\]/gi)].reduce((n, m) => n + Number(m[1]) / (m[2].toLowerCase() === 'ms' ? 1000 : 1), 0);
    const words = text.replace(/\[pause[^\]]*\]/gi, ' ').split(/\s+/).filter(Boolean).length;
    seconds += words / (WORDS_PER_SECOND * (scene.speed ?? speed)) + pauses + (i > 0 ? 0.6 : 0);
  }
  if (project.intro) seconds += project.intro.seconds ?? 2.5;
  if (project.outro) seconds += project.outro.seconds ?? 2.5;
  return seconds;
}

/** Credits a render of this length costs: one per started minute of finished video. */
export function creditCost(seconds: number): number {
  return Math.max(1, Math.ceil(seconds / 60));
}

/** Output size in pixels for a format at a quality (the quality names the short side). */
export function frameSize(format: Format, quality: Quality): { width: number; height: number } {
  const short = { '720p': 720, '1080p': 1080, '2160p': 2160 }[quality];
  const long = Math.round((short * 16) / 9);
  if (format === '16:9') return { width: long, height: short };
  if (format === '9:16') return { width: short, height: long };
  return { width: short, height: short };
}

/** Turn zod issues into one sentence that names each field (for a union, the branch the input was meant for). */
export function describeIssues(error: z.ZodError, source = 'project'): string {
  const lines = (issues: z.core.$ZodIssue[], prefix: PropertyKey[]): string[] =>
    issues.flatMap((issue) => {
      const path = [...prefix, ...issue.path];
      if (issue.code === 'invalid_union' && issue.errors.length > 0) {
        const meant = issue.errors.filter((b) => !b.some((i) => i.code === 'unrecognized_keys' && i.path.length === 0));
        return [[...new Set((meant.length ? meant : issue.errors).map((b) => lines(b, path).join('; ')))].join('; or ')];
      }
      return [`${source}${path.length ? '.' + path.map(String).join('.') : ''}: ${issue.message}`];
    });
  return lines(error.issues, []).join('; ');
}
