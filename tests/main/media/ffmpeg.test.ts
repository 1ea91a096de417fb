import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorCode } from '../../../src-shared/errors';
import { ffmpegVersion, ffprobe, openFfmpegSink, runFfmpeg } from '../../../src-main/media/ffmpeg';

const DEBIAN_FFMPEG = '/usr/bin/ffmpeg';

function debianFfmpeg(): string {
  if (!existsSync(DEBIAN_FFMPEG)) {
    throw new Error(`${DEBIAN_FFMPEG} is missing: these tests run Debian's ffmpeg as the system one; install it (apt-get install ffmpeg, as .ci/run does)`);
  }
  return DEBIAN_FFMPEG;
}

const temporary = () => mkdtempSync(join(tmpdir(), 'mp-ffmpeg-'));

// xfade (ffmpeg 4.3) is in Debian's 5.1 and not in the bundled 2018 build, so it tells which one ran;
// the second second starts half-way through the first, so 1.5 s in all.
const crossFade = (out: string) => [
  ...['-f', 'lavfi', '-i', 'color=c=red:s=64x64:r=10:d=1', '-f', 'lavfi', '-i', 'color=c=blue:s=64x64:r=10:d=1'],
  ...['-filter_complex', '[0:v][1:v]xfade=transition=fade:duration=0.5:offset=0.5,format=yuv420p[v]', '-map', '[v]', '-c:v', 'libx264', out],
];

describe('ffmpeg runs', () => {
  it('runFfmpeg runs the ffmpeg named by binary, and the bundled one otherwise', async () => {
    const debian = debianFfmpeg();
    const dir = temporary();
    await runFfmpeg({ binary: debian, args: crossFade(join(dir, 'system.mp4')) });
    expect(Number((await ffprobe(join(dir, 'system.mp4'))).format.duration)).toBeCloseTo(1.5, 1);

    const bundled = await runFfmpeg({ args: crossFade(join(dir, 'bundled.mp4')), what: 'cross-fading' }).catch((e: unknown) => e);
    expect(errorCode(bundled)).toBe('FFMPEG_FAILED');
    expect((bundled as Error).message).toMatch(/^cross-fading failed .*xfade/s);
  });

  it('a missing binary is an error naming it', async () => {
    const missing = join(temporary(), 'no-ffmpeg');
    const error = await runFfmpeg({ binary: missing, args: ['-version'], what: 'probing' }).catch((e: unknown) => e);
    expect(errorCode(error)).toBe('FFMPEG_FAILED');
    expect((error as Error).message).toContain(`probing: could not start ${missing}`);
  });

  it('openFfmpegSink feeds frames to the ffmpeg named by binary', async () => {
    const debian = debianFfmpeg();
    const dir = temporary();
    const log = join(dir, 'calls.log');
    const wrapper = join(dir, 'ffmpeg');
    writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${log}'\nexec ${debian} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const out = join(dir, 'frames.mp4');
    const sink = openFfmpegSink({
      binary: wrapper,
      args: ['-f', 'rawvideo', '-pix_fmt', 'gray', '-s', '16x16', '-r', '10', '-i', 'pipe:0', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', out],
    });
    for (let i = 0; i < 10; i++) await sink.write(new Uint8Array(16 * 16).fill(i * 20));
    await sink.finish();
    expect(readFileSync(log, 'utf8')).toContain('pipe:0');
    expect((await ffprobe(out)).streams).toMatchObject([{ codec_name: 'h264', width: 16, height: 16 }]);
  });

  it('ffmpegVersion reads the version of the ffmpeg it is given, and says unavailable when it cannot start', async () => {
    expect(await ffmpegVersion(debianFfmpeg())).toMatch(/^\d+\.\d+/);
    expect(await ffmpegVersion()).toBe('N-47683-g0e8eb07980-static');
    expect(await ffmpegVersion(join(temporary(), 'no-ffmpeg'))).toBe('unavailable');
  });
});
