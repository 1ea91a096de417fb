import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '../../../src-shared/errors';
import {
  bitrateFor,
  chooseEncoder,
  encodeWithFallback,
  ENCODER_CANDIDATES,
  encoderArgs,
  probeEncoders,
  type BinaryProbe,
  type EncoderChoice,
} from '../../../src-main/media/encoders';
import { ffmpegPath, ffmpegVersion, ffprobe, runFfmpeg } from '../../../src-main/media/ffmpeg';

const DEBIAN_FFMPEG = '/usr/bin/ffmpeg';
const NOT_BUILT_IN = 'not built into this ffmpeg';

/** Debian's ffmpeg 5.1 is the system ffmpeg these tests probe: it lists NVENC, QSV and VAAPI whatever the machine has. */
function debianFfmpeg(): string {
  if (!existsSync(DEBIAN_FFMPEG)) {
    throw new Error(`${DEBIAN_FFMPEG} is missing: the encoder tests probe Debian's ffmpeg as the system one; install it (apt-get install ffmpeg, as .ci/run does)`);
  }
  return DEBIAN_FFMPEG;
}

/** Without GPU device nodes no hardware encoder can work, so the expected outcome is known exactly. */
const noGpu = !existsSync('/dev/dri') && !readdirSync('/dev').some((n) => n.startsWith('nvidia'));

const temporary = () => mkdtempSync(join(tmpdir(), 'mp-encoders-'));

/** A real encode of a moving test pattern with the arguments a render uses. */
function encodeClip(choice: EncoderChoice, out: string, seconds: number, signal?: AbortSignal): Promise<void> {
  const size = { width: 320, height: 240, fps: 30 };
  const args = encoderArgs(choice.encoder, size);
  return runFfmpeg({
    binary: choice.binary,
    args: [
      ...args.inputArgs,
      ...['-f', 'lavfi', '-i', `testsrc2=s=${size.width}x${size.height}:r=${size.fps}:d=${seconds}`],
      ...['-vf', `format=yuv420p${args.filterTail}`, ...args.codecArgs, '-movflags', '+faststart', '-f', 'mp4', out],
    ],
    signal,
    what: `encoding with ${choice.encoder}`,
  });
}

const row = (probe: BinaryProbe, name: string) => probe.candidates.find((c) => c.name === name)!;

describe('encoder probe and choice', () => {
  let debian: string;
  let cacheFile: string;
  let debianProbe: BinaryProbe;

  beforeAll(async () => {
    debian = debianFfmpeg();
    cacheFile = join(temporary(), 'encoders.json');
    [debianProbe] = await probeEncoders({ binaries: [debian], cacheFile });
  });

  it("records why each encoder Debian's ffmpeg lists fails, and a real encode agrees with every verdict", async () => {
    expect(debianProbe.version).toBe(await ffmpegVersion(debian));
    expect(debianProbe.candidates.map((c) => c.name)).toEqual([...ENCODER_CANDIDATES]);
    const dir = temporary();
    for (const candidate of debianProbe.candidates) {
      if (candidate.reason === NOT_BUILT_IN) continue;
      const encoded = await encodeClip({ binary: debian, encoder: candidate.name }, join(dir, `${candidate.name}.mp4`), 0.2).then(
        () => true,
        () => false,
      );
      expect({ name: candidate.name, ok: candidate.ok }).toEqual({ name: candidate.name, ok: encoded });
      // ffmpeg's own line for the failure, not the generic ones it prints after it.
      if (!candidate.ok) expect(candidate.reason).not.toMatch(/^$|maybe incorrect parameters|Conversion failed|Error parsing global options/);
    }
    expect(row(debianProbe, 'libx264').ok).toBe(true);
    expect(row(debianProbe, 'h264_amf')).toEqual({ name: 'h264_amf', ok: false, reason: NOT_BUILT_IN });
    if (noGpu) {
      expect(row(debianProbe, 'h264_nvenc').ok).toBe(false);
      expect(row(debianProbe, 'h264_nvenc').reason).toMatch(/cuda|nvenc/i);
      expect(row(debianProbe, 'h264_vaapi').reason).toMatch(/renderD128/);
    }
  });

  it('chooses the first candidate that really encodes, libx264 from the bundled ffmpeg when no hardware encoder works', async () => {
    const selection = await chooseEncoder({ cacheFile, systemFfmpeg: debian });
    expect(selection.probes.map((p) => p.ffmpeg)).toEqual([ffmpegPath(), debian]);
    const [bundled] = selection.probes;
    expect(row(bundled, 'libx264').ok).toBe(true);
    expect(row(bundled, 'h264_nvenc').reason).toBe(NOT_BUILT_IN);

    const first = ENCODER_CANDIDATES.find((name) => selection.probes.some((p) => row(p, name).ok))!;
    expect(selection.encoder).toBe(first);
    // Both have libx264; the bundled one is the one the app was tested with.
    expect(selection.binary).toBe(row(bundled, first).ok ? ffmpegPath() : debian);
    expect(selection.report).toMatchObject({ ffmpeg: selection.binary, chosen: first, version: await ffmpegVersion(selection.binary) });
    if (noGpu) {
      expect(selection).toMatchObject({ encoder: 'libx264', binary: ffmpegPath() });
      expect(selection.report.candidates.filter((c) => c.ok).map((c) => c.name)).toEqual(['libx264']);
      expect(selection.report.candidates.find((c) => c.name === 'h264_nvenc')!.reason).toContain(`${debian}: ${row(debianProbe, 'h264_nvenc').reason}`);
    }
  });

  it('reuses the cached probe of an unchanged ffmpeg and probes again when the binary is replaced or another is given', async () => {
    const dir = temporary();
    const cache = join(dir, 'encoders.json');
    const log = join(dir, 'calls.log');
    // A wrapper that logs each run of ffmpeg, so the spawns can be counted.
    const wrapper = (path: string, extra = '') => {
      writeFileSync(path, `#!/bin/sh\n${extra}echo "$*" >> '${log}'\nexec ${debian} "$@"\n`);
      chmodSync(path, 0o755);
    };
    const calls = () => {
      const lines = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
      writeFileSync(log, '');
      return { listings: lines.filter((l) => l.includes('-encoders')).length, encodes: lines.filter((l) => l.includes('-frames:v 1')).length, all: lines.length };
    };
    const listed = debianProbe.candidates.filter((c) => c.reason !== NOT_BUILT_IN).length;
    const first = join(dir, 'ffmpeg-a');
    wrapper(first);

    const [probed] = await probeEncoders({ binaries: [first], cacheFile: cache });
    expect(calls()).toEqual({ listings: 1, encodes: listed, all: listed + 2 });
    const stored = JSON.parse(readFileSync(cache, 'utf8')) as { binaries: Record<string, { fingerprint: { version: string }; probe: BinaryProbe }> };
    expect(stored.binaries[first].fingerprint.version).toBe(debianProbe.version);
    expect(stored.binaries[first].probe).toEqual({ ...debianProbe, ffmpeg: first });

    const [again] = await probeEncoders({ binaries: [first], cacheFile: cache });
    expect(again).toEqual(probed);
    expect(calls()).toEqual({ listings: 0, encodes: 0, all: 1 });

    wrapper(first, '# replaced\n');
    await probeEncoders({ binaries: [first], cacheFile: cache });
    expect(calls()).toEqual({ listings: 1, encodes: listed, all: listed + 2 });

    const second = join(dir, 'ffmpeg-b');
    wrapper(second);
    await probeEncoders({ binaries: [first, second], cacheFile: cache });
    expect(calls()).toEqual({ listings: 1, encodes: listed, all: listed + 3 });
    expect(Object.keys((JSON.parse(readFileSync(cache, 'utf8')) as { binaries: object }).binaries)).toEqual([first, second]);
  });

  it('forcing an encoder that does not work here names it, why, and the encoders that do', async () => {
    const { report } = await chooseEncoder({ cacheFile, systemFfmpeg: debian });
    const failing = report.candidates.find((c) => !c.ok && !c.reason!.endsWith(NOT_BUILT_IN)) ?? report.candidates.find((c) => !c.ok)!;
    const working = report.candidates.filter((c) => c.ok).map((c) => c.name);
    const error = await chooseEncoder({ cacheFile, systemFfmpeg: debian, force: failing.name }).catch((e: unknown) => e);
    expect(errorCode(error)).toBe('BAD_INPUT');
    expect((error as Error).message).toContain(`encoder ${failing.name} does not work here (${failing.reason})`);
    expect((error as Error).message).toContain(`encoders that work here: ${working.join(', ')}`);

    const unknown = await chooseEncoder({ cacheFile, systemFfmpeg: debian, force: 'libvpx' }).catch((e: unknown) => e);
    expect(errorCode(unknown)).toBe('BAD_INPUT');
    expect((unknown as Error).message).toContain(`encoder libvpx: Mouthpiece cannot encode with it; use one of ${ENCODER_CANDIDATES.join(', ')}`);
  });

  it('forcing libx264 chooses it in the bundled ffmpeg', async () => {
    const selection = await chooseEncoder({ cacheFile, systemFfmpeg: debian, force: 'libx264' });
    expect(selection).toMatchObject({ encoder: 'libx264', binary: ffmpegPath(), report: { chosen: 'libx264', ffmpeg: ffmpegPath() } });
  });

  it('finishes a failing hardware encode in software, says so in the note, and writes a valid MP4', async () => {
    const failing = debianProbe.candidates.find((c) => !c.ok && c.reason !== NOT_BUILT_IN && c.name !== 'libx264');
    if (!failing) throw new Error(`every hardware encoder ${debian} lists works here; this test needs one that fails`);
    const out = join(temporary(), 'video.mp4');
    const tried: EncoderChoice[] = [];
    const outcome = await encodeWithFallback(
      async (choice) => {
        tried.push(choice);
        await encodeClip(choice, out, 0.5);
      },
      { binary: debian, encoder: failing.name },
    );
    expect(tried).toEqual([
      { binary: debian, encoder: failing.name },
      { binary: ffmpegPath(), encoder: 'libx264' },
    ]);
    expect(outcome).toMatchObject({ binary: ffmpegPath(), encoder: 'libx264' });
    expect(outcome.note).toBe(`The hardware encoder ${failing.name} failed (${failing.reason}), so this video was encoded in software (libx264).`);
    const probe = await ffprobe(out);
    expect(probe.format.format_name).toContain('mp4');
    expect(probe.streams).toMatchObject([{ codec_type: 'video', codec_name: 'h264', width: 320, height: 240 }]);
    expect(Number(probe.format.duration)).toBeCloseTo(0.5, 1);
  });

  it('does not fall back to software when a hardware encode is cancelled', async () => {
    const controller = new AbortController();
    const tried: string[] = [];
    // Paced to real time (-re) so it is still running when the first progress report cancels it.
    const run = (choice: EncoderChoice) => {
      tried.push(choice.encoder);
      return runFfmpeg({
        binary: choice.binary,
        args: ['-re', '-f', 'lavfi', '-i', 'color=s=64x64:r=10:d=60', '-f', 'null', '-'],
        signal: controller.signal,
        onProgress: () => controller.abort(),
      });
    };
    const error = await encodeWithFallback(run, { binary: debian, encoder: 'h264_nvenc' }).catch((e: unknown) => e);
    expect(errorCode(error)).toBe('CANCELLED');
    expect(tried).toEqual(['h264_nvenc']);
  });

  it('does not retry a software encode that fails', async () => {
    const tried: string[] = [];
    const missing = join(temporary(), 'missing.wav');
    const error = await encodeWithFallback(
      (choice) => (tried.push(choice.encoder), runFfmpeg({ binary: choice.binary, args: ['-i', missing, '-f', 'null', '-'] })),
      { binary: ffmpegPath(), encoder: 'libx264' },
    ).catch((e: unknown) => e);
    expect(errorCode(error)).toBe('FFMPEG_FAILED');
    expect((error as Error).message).toContain('missing.wav');
    expect(tried).toEqual(['libx264']);
  });
});

describe('bitrates', () => {
  it('grow with resolution and frame rate, each peak above its target', () => {
    const ladder = [
      bitrateFor(1280, 720, 30),
      bitrateFor(1280, 720, 60),
      bitrateFor(1920, 1080, 30),
      bitrateFor(1920, 1080, 60),
      bitrateFor(3840, 2160, 30),
      bitrateFor(3840, 2160, 60),
    ];
    expect(ladder.map((b) => b.tier)).toEqual(['720p', '720p', '1080p', '1080p', '2160p', '2160p']);
    for (const [i, rate] of ladder.entries()) {
      expect(rate.max).toBeGreaterThan(rate.target);
      expect(rate.bufsize).toBeGreaterThanOrEqual(rate.max);
      if (i > 0) expect(rate.target).toBeGreaterThan(ladder[i - 1].target);
      if (i > 0) expect(rate.max).toBeGreaterThan(ladder[i - 1].max);
    }
    expect(ladder.slice(2, 4).map((b) => b.target)).toEqual([8_000_000, 12_000_000]);
    // A portrait frame has the pixels of its landscape twin.
    expect(bitrateFor(1080, 1920, 30)).toEqual(bitrateFor(1920, 1080, 30));
  });

  it('libx264 encodes by quality under the peak; hardware encoders by target and peak; VAAPI uploads to its device', () => {
    const size = { width: 1920, height: 1080, fps: 60 };
    const software = encoderArgs('libx264', size).codecArgs;
    expect(software).toEqual(['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '21', '-maxrate', '18000k', '-bufsize', '36000k', '-pix_fmt', 'yuv420p']);
    expect(encoderArgs('h264_nvenc', size).codecArgs.join(' ')).toContain('-rc vbr -b:v 12000k -maxrate 18000k -bufsize 36000k');
    expect(encoderArgs('h264_vaapi', size)).toMatchObject({ inputArgs: ['-vaapi_device', '/dev/dri/renderD128'], filterTail: ',format=nv12,hwupload' });
    expect(encoderArgs('h264_qsv', size).filterTail).toBe('');
  });
});
