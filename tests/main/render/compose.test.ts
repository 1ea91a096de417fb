import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectSchema, type ProjectInput } from '../../../src-shared/project';
import { ffprobe, runFfmpeg } from '../../../src-main/media/ffmpeg';
import { renderProject } from '../../../src-main/render/renderProject';
import { colourDistance, frameAt, hexColour } from '../../support/frames';

let dir: string;
const PREMIUM = { tier: 'premium', maxQuality: '2160p', watermark: false } as const;
const RED = '#d01010';
const BLUE = '#1030d0';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mp-compose-'));
  // A one-second clip, red for its first half and green for its second, to see it loop.
  await runFfmpeg({
    args: ['-f', 'lavfi', '-i', 'color=c=0xd01010:s=320x180:r=30:d=0.5', '-f', 'lavfi', '-i', 'color=c=0x10b010:s=320x180:r=30:d=0.5', '-filter_complex', '[0][1]concat=n=2:v=1[v]', '-map', '[v]', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', join(dir, 'loop.mp4')],
  });
  await runFfmpeg({ args: ['-f', 'lavfi', '-i', 'color=c=0xd01010:s=64x64', '-frames:v', '1', join(dir, 'logo.png')] });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function render(name: string, input: Partial<ProjectInput>) {
  const project = projectSchema.parse({ title: name, template: 'studio', quality: '720p', scenes: [{ text: 'One.' }], ...input });
  const outputPath = join(dir, `${name}.mp4`);
  const result = await renderProject({ project, outputPath, workDir: join(dir, `w-${name}`), cacheDir: join(dir, 'cache'), signal: new AbortController().signal, onProgress: () => {}, account: PREMIUM });
  return { ...result, outputPath };
}

const LEFT_EDGE = [0.03, 0.3] as const;

describe('compose', () => {
  it('crossfades between scenes whose transition is fade, and cuts otherwise', async () => {
    const scenes = (transition: 'cut' | 'fade') => [
      { text: 'The first scene is red.', background: { type: 'colour' as const, colour: RED } },
      { text: 'The second scene is blue.', background: { type: 'colour' as const, colour: BLUE }, transition },
    ];
    for (const transition of ['fade', 'cut'] as const) {
      const result = await render(transition, { scenes: scenes(transition) });
      const middle = (result.scenes[0].end + result.scenes[1].start) / 2;
      const [r, , b] = (await frameAt(result.outputPath, middle)).at(...LEFT_EDGE);
      if (transition === 'fade') {
        expect(r, 'red half-way through the fade').toBeGreaterThan(50);
        expect(b, 'blue half-way through the fade').toBeGreaterThan(50);
      } else {
        expect(Math.min(r, b), 'one colour or the other at a cut').toBeLessThan(40);
      }
      expect(colourDistance((await frameAt(result.outputPath, result.scenes[1].end - 0.1)).at(...LEFT_EDGE), hexColour(BLUE))).toBeLessThan(14);
    }
  });

  it('loops a video background for as long as its scene lasts', async () => {
    const result = await render('video', {
      scenes: [{ text: 'This scene stands in front of a short clip that plays again and again.', background: { type: 'video', path: join(dir, 'loop.mp4') } }],
    });
    const colours = [];
    for (const t of [0.25, 0.75, 1.25, 1.75, 2.25]) colours.push((await frameAt(result.outputPath, t)).at(...LEFT_EDGE));
    const red = hexColour(RED);
    const green = [0x10, 0xb0, 0x10];
    expect(colours.map((c) => (colourDistance(c, red) < 30 ? 'red' : colourDistance(c, green) < 30 ? 'green' : `other ${c}`))).toEqual(['red', 'green', 'red', 'green', 'red']);
  });

  it('puts the logo in its corner at its size, and title cards before and after the speech', async () => {
    const result = await render('branded', {
      brand: { logo: { path: join(dir, 'logo.png'), position: 'top-left', size: 0.1 }, primary: '#10a0a0', secondary: '#10a0a0' },
      intro: { text: 'Hello cards', seconds: 2 },
      outro: { seconds: 2 },
      scenes: [{ text: 'The middle of the video.', background: { type: 'colour', colour: BLUE } }],
    });
    const middle = await frameAt(result.outputPath, (result.scenes[0].start + result.scenes[0].end) / 2);
    const margin = Math.round(720 * 0.04);
    expect(colourDistance(middle.at(margin + 20, margin + 20), hexColour(RED)), 'logo inside its box').toBeLessThan(30);
    expect(colourDistance(middle.at(margin + 128 + 12, margin + 20), hexColour(BLUE)), 'background just right of a 128 px logo').toBeLessThan(14);
    expect(colourDistance(middle.at(1280 - margin - 20, margin + 20), hexColour(BLUE)), 'nothing in the other corner').toBeLessThan(14);

    expect(result.scenes[0].start).toBeGreaterThan(2);
    const teal = hexColour('#10a0a0');
    expect(colourDistance((await frameAt(result.outputPath, 0.5)).at(0.5, 0.9), teal), 'intro card').toBeLessThan(14);
    expect(colourDistance((await frameAt(result.outputPath, result.durationSeconds - 0.5)).at(0.5, 0.9), teal), 'outro card').toBeLessThan(14);
    expect(colourDistance(middle.at(0.5, 0.9), teal), 'no card while speaking').toBeGreaterThan(40);
  });

  it('writes SRT, WebVTT and a JPEG thumbnail beside the MP4, and no partial files', async () => {
    const result = await render('sidecars', { scenes: [{ text: 'Captions go beside the video.' }, { text: 'So does a thumbnail.' }] });
    expect(result.files).toEqual({ srt: join(dir, 'sidecars.srt'), vtt: join(dir, 'sidecars.vtt'), thumbnail: join(dir, 'sidecars.jpg') });
    const srt = await readFile(result.files.srt, 'utf8');
    expect(srt).toMatch(/^1\n00:00:0\d,\d{3} --> 00:00:0\d,\d{3}\nCaptions go beside the video\.\n\n2\n/);
    expect(await readFile(result.files.vtt, 'utf8')).toMatch(/^WEBVTT\n\n/);
    const thumb = (await ffprobe(result.files.thumbnail)).streams[0];
    expect([thumb.codec_name, thumb.width, thumb.height]).toEqual(['mjpeg', 1280, 720]);
    expect((await readdir(dir)).filter((f) => f.includes('.partial') || f.startsWith('w-'))).toEqual([]);
    expect(existsSync(result.outputPath)).toBe(true);
  });
});
