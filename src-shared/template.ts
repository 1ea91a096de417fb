import { z } from 'zod';
import { AVATAR_LAYOUTS, CAPTION_STYLES, FORMATS, LOGO_POSITIONS, TRANSITIONS, backgroundSchema, colourSchema } from './project';

/** A template: how a video looks around the presenter. Built-in ones live in resources/templates. */
export const templateSchema = z.object({
  id: z.string().regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes').max(64),
  name: z.string().trim().min(1).max(60),
  description: z.string().max(300),
  format: z.enum(FORMATS),
  background: backgroundSchema,
  avatar: z.object({
    layout: z.enum(AVATAR_LAYOUTS),
    /** Presenter height as a fraction of the frame height (for 'bubble', the bubble's diameter). */
    scale: z.number().min(0.2).max(1.2),
    /**
     * 'cutout': a photo or clip avatar is cut out of its own background and stands on the
     * template's; 'keep': it keeps its background (full frame, or a card beside the template's).
     */
    background: z.enum(['cutout', 'keep']).default('keep'),
  }),
  captions: z.object({
    style: z.enum(CAPTION_STYLES).default('highlight'),
    /** Font size as a fraction of the frame height. */
    size: z.number().min(0.02).max(0.12),
    colour: colourSchema,
    /** The word being spoken, in the 'highlight' style (the brand's primary colour wins). */
    highlight: colourSchema.default('#facc15'),
    outline: colourSchema,
    /** Distance of the caption baseline from the bottom, as a fraction of the frame height. */
    marginBottom: z.number().min(0).max(0.5),
  }),
  /** How scenes give way to each other, unless a scene says otherwise. */
  transition: z.enum(TRANSITIONS).default('cut'),
  /** The template's own brand colours and logo placement; the project's brand overrides them. */
  brand: z
    .object({
      primary: colourSchema.default('#2563eb'),
      secondary: colourSchema.default('#0f172a'),
      logoPosition: z.enum(LOGO_POSITIONS).default('top-right'),
    })
    .prefault({}),
});
export type TemplateInput = z.input<typeof templateSchema>;
export type Template = z.infer<typeof templateSchema>;

/** A template as the pickers show it. */
export interface TemplateSummary {
  id: string;
  name: string;
  format: Template['format'];
  description: string;
  /** Shipped with the app (read-only) or made by the user (editable, deletable). */
  builtin: boolean;
  /** A still of the template, as a data: URL of a JPEG or PNG. */
  thumbnail: string | null;
  template: Template;
}
