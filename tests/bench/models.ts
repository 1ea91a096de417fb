/**
 * The model registry: download throughput from a local HTTP server (resumable fetch, sha256
 * check, atomic move, registry updates) against a plain file copy of the same bytes and a bare
 * fetch into a file, so what is ours is the difference; then how long measuring each shared model
 * takes on this machine's providers, and the latency it records.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelSummary } from '../../src-shared/model';
import { openDatabase } from '../../src-main/db/connection';
import { findCatalogueModel, useModelRegistry } from '../../src-main/models/catalogue';
import { ModelDownloads, importModel, measureModel } from '../../src-main/models/registry';
import { serveModels } from '../main/models/modelServer';
import { sharedFile } from '../support/shared';

const PAYLOAD_BYTES = 64 * 1024 * 1024;
const ROUNDS = 3;
const SHARED_MODELS = [
  'models/yunet/face_detection_yunet_2023mar.onnx',
  'models/pfld68/landmarks_68_pfld.onnx',
  'models/mediapipe-face-landmark/face_landmark.onnx',
  'models/sinet-portrait/SINet_Softmax.onnx',
  'models/silero-vad/silero_vad.onnx',
  'models/piper-test-voice/test_voice.onnx',
];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const mbPerSecond = (seconds: number) => PAYLOAD_BYTES / 1e6 / seconds;

async function time(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
}

export async function benchModels(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mp-bench-models-'));
  // Real model bytes, repeated to a size where throughput, not latency, is what is timed.
  const seed = readFileSync(sharedFile('models/pfld68/landmarks_68_pfld.onnx'));
  const payload = Buffer.alloc(PAYLOAD_BYTES);
  for (let at = 0; at < PAYLOAD_BYTES; at += seed.length) seed.copy(payload, at, 0, Math.min(seed.length, PAYLOAD_BYTES - at));
  const source = join(dir, 'payload.onnx');
  await writeFile(source, payload);
  const server = await serveModels({ '/payload.onnx': { bytes: payload } });
  const entry = { ...findCatalogueModel('pfld68'), id: 'bench-payload', url: server.url('/payload.onnx'), bytes: PAYLOAD_BYTES, sha256: createHash('sha256').update(payload).digest('hex') };

  try {
    const copies: number[] = [];
    const bare: number[] = [];
    const ours: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      copies.push(await time(() => copyFile(source, join(dir, `copy-${round}.onnx`))));
      bare.push(
        await time(async () => {
          const response = await fetch(server.url('/payload.onnx'));
          await writeFile(join(dir, `bare-${round}.onnx`), Buffer.from(await response.arrayBuffer()));
        }),
      );
      const home = join(dir, `home-${round}`);
      const db = await openDatabase(join(home, 'mouthpiece.db'));
      const downloads = new ModelDownloads(db, home);
      ours.push(await time(async () => (await downloads.start(entry)).done));
      await db.destroy();
      await rm(home, { recursive: true, force: true });
    }
    const [copy, fetchOnly, download] = [median(copies), median(bare), median(ours)];
    console.log(`model download, ${PAYLOAD_BYTES / 1024 / 1024} MiB from 127.0.0.1 (median of ${ROUNDS})`);
    console.log(`  plain file copy      ${copy.toFixed(3)} s, ${mbPerSecond(copy).toFixed(0)} MB/s`);
    console.log(`  bare fetch to file   ${fetchOnly.toFixed(3)} s, ${mbPerSecond(fetchOnly).toFixed(0)} MB/s`);
    console.log(`  registry download    ${download.toFixed(3)} s, ${mbPerSecond(download).toFixed(0)} MB/s (resumable, sha256, atomic move)`);
    console.log(`  ratio to file copy   ${(download / copy).toFixed(2)}x; to bare fetch ${(download / fetchOnly).toFixed(2)}x`);
  } finally {
    await server.close();
  }

  const home = join(dir, 'measure');
  const db = await openDatabase(join(home, 'mouthpiece.db'));
  const detach = useModelRegistry(db, home);
  console.log('model measurement (one warm-up and 5 timed runs per provider)');
  for (const file of SHARED_MODELS) {
    const model = await importModel(db, home, { path: sharedFile(file) });
    let measured: ModelSummary | undefined;
    const seconds = await time(async () => (measured = await measureModel(db, model.id)));
    const latencies = Object.entries(measured!.latency)
      .map(([provider, l]) => `${provider} ${l && 'ms' in l ? `${l.ms.toFixed(2)} ms` : 'failed'}`)
      .join(', ');
    console.log(`  ${model.kind.padEnd(16)} ${model.name.padEnd(30)} measured in ${(seconds * 1000).toFixed(0)} ms; per run: ${latencies}`);
  }
  detach();
  await db.destroy();
  await rm(dir, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchModels().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
