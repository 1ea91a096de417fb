import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameSize, projectSchema, type Background } from '../../../src-shared/project';
import type { Template } from '../../../src-shared/template';
import { ffprobe } from '../../../src-main/media/ffmpeg';
import { bubbleGeometry, renderBackground } from '../../../src-main/render/compose';
import { renderProject } from '../../../src-main/render/renderProject';
import { listBuiltinTemplates } from '../../../src-main/templates/catalogue';
import { colourDistance, frameAt } from '../../support/frames';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mp-templates-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const PREMIUM = { tier: 'premium', maxQuality: '2160p', watermark: false } as const;
const SKIN: [number, number, number] = [0xf1, 0xc2, 0x9e];

/** Where the presenter's face is for a layout: the standing sprite's face, or the bubble's centre. */
function faceAt(template: Template, layout: Template['avatar']['layout'], size: { width: number; height: number }) {
  if (layout === 'bubble') {
    const bubble = bubbleGeometry(template, size);
    return { x: bubble.x + bubble.diameter / 2, y: bubble.y + bubble.diameter * 0.45 };
  }
  const spriteHeight = template.avatar.scale * size.height;
  const centre = layout === 'left' ? 0.3 : layout === 'right' ? 0.7 : 0.5;
  return { x: size.width * centre, y: size.height - spriteHeight * 0.62 };
}

describe('built-in templates', () => {
  for (const template of listBuiltinTemplates()) {
    it(`${template.id} renders a two-scene project with its background and the presenter where it says`, async () => {
      const second: Background = { type: 'colour', colour: '#7a1f5c' };
      const secondLayout = template.avatar.layout === 'left' ? 'right' : 'left';
      const project = projectSchema.parse({
        title: template.name,
        template: template.id,
        quality: '720p',
        scenes: [{ text: 'Welcome to the show.' }, { text: 'Here is the second part.', background: second, avatarLayout: secondLayout }],
      });
      const out = join(dir, `${template.id}.mp4`);
      const result = await renderProject({ project, outputPath: out, workDir: join(dir, `w-${template.id}`), cacheDir: join(dir, 'cache'), signal: new AbortController().signal, onProgress: () => {}, account: PREMIUM });

      const size = frameSize(template.format, '720p');
      const probe = await ffprobe(out);
      const video = probe.streams.find((s) => s.codec_type === 'video')!;
      expect([video.codec_name, video.width, video.height]).toEqual(['h264', size.width, size.height]);
      expect(probe.streams.find((s) => s.codec_type === 'audio')?.codec_name).toBe('aac');
      expect(Number(probe.format.duration)).toBeCloseTo(result.durationSeconds, 0);

      // The template's own background, drawn alone, is what shows in a corner away from the presenter.
      const still = join(dir, `${template.id}-bg.png`);
      await renderBackground(template.background, size.width, size.height, still, new AbortController().signal);
      const expected = await frameAt(still, 0);
      for (const [index, background] of [template.background, second].entries()) {
        const span = result.scenes[index];
        const frame = await frameAt(out, (span.start + span.end) / 2);
        const corner = frame.at(0.03, 0.3);
        const want = index === 0 ? expected.at(0.03, 0.3) : [0x7a, 0x1f, 0x5c];
        expect(colourDistance(corner, want), `${template.id} scene ${index + 1} background ${JSON.stringify(background)}`).toBeLessThan(14);
        const face = faceAt(template, index === 0 ? template.avatar.layout : secondLayout, size);
        expect(colourDistance(frame.at(face.x, face.y), SKIN), `${template.id} scene ${index + 1} face at ${face.x},${face.y}`).toBeLessThan(40);
      }
    });
  }
});

describe('tier', () => {
  const project = projectSchema.parse({ title: 'Mark', template: 'studio', scenes: [{ text: 'Is there a mark?' }] });

  it('a free render carries the watermark in the corner and a premium one does not', async () => {
    const render = (name: string, watermark: boolean) =>
      renderProject({
        project,
        outputPath: join(dir, `${name}.mp4`),
        workDir: join(dir, `w-${name}`),
        cacheDir: join(dir, 'cache'),
        signal: new AbortController().signal,
        onProgress: () => {},
        account: watermark ? { tier: 'free', maxQuality: '1080p', watermark: true } : PREMIUM,
      });
    const free = await render('free', true);
    await render('premium', false);
    const t = (free.scenes[0].start + free.scenes[0].end) / 2;
    const [withMark, without] = [await frameAt(join(dir, 'free.mp4'), t), await frameAt(join(dir, 'premium.mp4'), t)];
    // Scan the bottom-right corner for the mark's white type.
    let white = 0;
    let whiteWithout = 0;
    for (let x = withMark.width - 330; x < withMark.width - 20; x += 2) {
      for (let y = withMark.height - 70; y < withMark.height - 20; y += 2) {
        if (Math.min(...withMark.at(x, y)) > 200) white++;
        if (Math.min(...without.at(x, y)) > 200) whiteWithout++;
      }
    }
    expect(white).toBeGreaterThan(40);
    expect(whiteWithout).toBe(0);
  });

  it('refuses 2160p on the free tier before any work, naming the field and what to do', async () => {
    const uhd = projectSchema.parse({ ...project, quality: '2160p' });
    const out = join(dir, 'uhd.mp4');
    await expect(
      renderProject({ project: uhd, outputPath: out, workDir: join(dir, 'w-uhd'), cacheDir: join(dir, 'cache'), signal: new AbortController().signal, onProgress: () => {} }),
    ).rejects.toThrow(/quality: 2160p needs a premium account.*Choose 1080p or lower/);
    expect(existsSync(join(dir, 'w-uhd'))).toBe(false);
    expect((await readdir(dir)).filter((f) => f.includes('uhd'))).toEqual([]);
  });
});
