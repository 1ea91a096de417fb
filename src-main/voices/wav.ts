/** 16-bit PCM mono WAV: what ffmpeg reads for the narration track. */
export function encodeWav(samples: Float32Array, sampleRate: number): Buffer {
  const dataBytes = samples.length * 2;
  const buf = Buffer.alloc(44 + dataBytes);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    buf.writeInt16LE(Math.round(s < 0 ? s * 0x8000 : s * 0x7fff), 44 + i * 2);
  }
  return buf;
}

/**
 * Reads 16-bit PCM or 32-bit float WAV, mixing channels down to mono. Walks the chunks rather
 * than assuming a 44-byte header, because ffmpeg writes a LIST chunk before `data`.
 */
export function decodeWav(buf: Buffer): { samples: Float32Array; sampleRate: number } {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a WAV file (no RIFF/WAVE header)');
  }
  let format: { audioFormat: number; channels: number; sampleRate: number; bits: number } | undefined;
  let offset = 12;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      format = {
        audioFormat: buf.readUInt16LE(body),
        channels: buf.readUInt16LE(body + 2),
        sampleRate: buf.readUInt32LE(body + 4),
        bits: buf.readUInt16LE(body + 14),
      };
      // WAVE_FORMAT_EXTENSIBLE keeps the real format in the first two bytes of its sub-format GUID.
      if (format.audioFormat === 0xfffe && size >= 26) format.audioFormat = buf.readUInt16LE(body + 24);
    } else if (id === 'data') {
      if (!format) throw new Error('WAV data chunk comes before its fmt chunk');
      const { audioFormat, channels, sampleRate, bits } = format;
      const pcm16 = audioFormat === 1 && bits === 16;
      const float32 = audioFormat === 3 && bits === 32;
      if (!pcm16 && !float32) throw new Error(`WAV format ${audioFormat} with ${bits}-bit samples is not supported`);
      const bytesPerFrame = (bits / 8) * channels;
      // A streamed WAV may carry a placeholder size; trust the bytes that are there.
      const frames = Math.floor(Math.min(size, buf.length - body) / bytesPerFrame);
      const samples = new Float32Array(frames);
      for (let f = 0; f < frames; f++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) {
          const at = body + f * bytesPerFrame + c * (bits / 8);
          sum += pcm16 ? buf.readInt16LE(at) / 0x8000 : buf.readFloatLE(at);
        }
        samples[f] = sum / channels;
      }
      return { samples, sampleRate };
    }
    offset = body + size + (size % 2); // chunks are word-aligned
  }
  throw new Error('WAV file has no data chunk');
}
