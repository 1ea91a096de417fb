/** Batches with their progress, cancel and results CSV (issue 9). */
export function Batches() {
  return null;
}
