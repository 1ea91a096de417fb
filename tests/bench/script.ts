/** About 30 seconds of speech: the script every render benchmark speaks. */
export const BENCH_SCRIPT = [
  'Welcome to this short demonstration of Mouthpiece, the presenter that lives on your own computer.',
  'You write a script, choose a voice and a template, and the app turns your words into a finished video with captions.',
  'Everything happens locally: the speech, the mouth movements, the captions and the encoding, so nothing you write leaves your machine.',
  'When you are happy with the result, share the video wherever your audience is. Thanks for watching, and see you next time.',
];
