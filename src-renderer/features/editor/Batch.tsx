import type { EditorProject } from '../../store/editor';

/** Personalised batch: this project's {{variables}} and a CSV become one video per row (issue 9). */
export function BatchPanel(_props: { videoId: string; project: EditorProject }) {
  return null;
}
