import { z } from 'zod';
import { AVATAR_LAYOUTS, FORMATS, backgroundSchema } from './project';

const colour = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #ffffff');

/** A template: how a video looks around the presenter. Built-in ones live in resources/templates. */
export const templateSchema = z.object({
  id: z.string().regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes'),
  name: z.string().min(1),
  description: z.string(),
  format: z.enum(FORMATS),
  background: backgroundSchema,
  avatar: z.object({
    layout: z.enum(AVATAR_LAYOUTS),
    /** Presenter height as a fraction of the frame height. */
    scale: z.number().min(0.2).max(1.2),
  }),
  captions: z.object({
    /** Font size as a fraction of the frame height. */
    size: z.number().min(0.02).max(0.12),
    colour,
    outline: colour,
    /** Distance of the caption baseline from the bottom, as a fraction of the frame height. */
    marginBottom: z.number().min(0).max(0.5),
  }),
});
export type Template = z.infer<typeof templateSchema>;
