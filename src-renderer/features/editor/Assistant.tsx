/** "Write it for me": a brief becomes the project's scenes through the script assistant (issue 9). */
export function WriteForMe() {
  return null;
}
