import { z } from 'zod';

export const FORMATS = ['16:9', '9:16', '1:1'] as const;
export const QUALITIES = ['720p', '1080p', '2160p'] as const;
export const AVATAR_LAYOUTS = ['full', 'left', 'right', 'bubble'] as const;

export type Format = (typeof FORMATS)[number];
export type Quality = (typeof QUALITIES)[number];

/** Longest script we accept in one project; a scene's text is spoken, so this is ~1 hour of speech. */
export const MAX_SCRIPT_CHARS = 40_000;
export const MAX_SCENES = 200;

const colour = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #1e293b');

export const backgroundSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('colour'), colour }),
  z.object({ type: z.literal('gradient'), from: colour, to: colour, angle: z.number().min(0).max(360).default(180) }),
  z.object({ type: z.literal('image'), path: z.string().min(1) }),
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

export const projectSchema = z
  .object({
    version: z.literal(1).default(1),
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
