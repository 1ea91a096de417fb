/**
 * Speech synthesis: espeak-ng's real-time factor on the benchmark script; the Piper path's cost
 * around the model, with the fixture voice (its model does no work, so what is measured is ours:
 * text handling, phonemes, ids, timing and audio out) per second of speech; and time to first
 * audio of a 2,000-word script, streamed sentence by sentence.
 */
import { synthesizeEspeak } from '../../src-main/voices/espeak';
import { streamPiper, synthesizePiper } from '../../src-main/voices/piper';
import { normalizeText } from '../../src-main/voices/text';
import { sharedFile } from '../support/shared';
import { BENCH_SCRIPT } from './script';

const TARGET_MS_PER_SECOND = 5;

export async function benchVoices(): Promise<void> {
  const script = BENCH_SCRIPT.join(' ');
  const signal = new AbortController().signal;
  await synthesizeEspeak('Warm up.', { voice: 'en-us' });

  let t = performance.now();
  const espeak = await synthesizeEspeak(normalizeText(script, 'en-us'), { voice: 'en-us', signal });
  const espeakSeconds = (performance.now() - t) / 1000;
  console.log(`speech synthesis, ${espeak.duration.toFixed(1)} s of speech`);
  console.log(`  espeak-ng            ${espeakSeconds.toFixed(2)} s, real-time factor ${(espeakSeconds / espeak.duration).toFixed(3)}`);

  const voice = sharedFile('models/piper-test-voice/test_voice.onnx');
  await synthesizePiper(voice, 'Warm up.', { signal });
  t = performance.now();
  await synthesizePiper(voice, normalizeText(script, 'en-us'), { signal });
  const piperSeconds = (performance.now() - t) / 1000;
  // The fixture model says one second of silence per sentence whatever the text: measure our
  // overhead per second of the speech a real voice would make, taking espeak-ng's length for it.
  const perSecond = (1000 * piperSeconds) / espeak.duration;
  console.log(`  Piper path (fixture) ${piperSeconds.toFixed(2)} s: ${perSecond.toFixed(2)} ms of our work per second of speech (target < ${TARGET_MS_PER_SECOND}: ${(perSecond / TARGET_MS_PER_SECOND).toFixed(2)}x the budget)`);

  const long = Array.from({ length: 50 }, () => BENCH_SCRIPT.join(' ')).join(' ').split(/\s+/).slice(0, 2000).join(' ');
  t = performance.now();
  const stream = streamPiper(voice, normalizeText(long, 'en-us'), { signal });
  await stream.next();
  const first = (performance.now() - t) / 1000;
  let chunks = 1;
  while (!(await stream.next()).done) chunks++;
  const all = (performance.now() - t) / 1000;
  console.log(`  2,000-word script    first audio after ${(first * 1000).toFixed(0)} ms, all ${chunks} sentences in ${all.toFixed(2)} s (Piper path, fixture voice)`);
}
