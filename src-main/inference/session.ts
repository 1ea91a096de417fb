import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import * as ort from 'onnxruntime-node';
import { AppError, ErrorCode } from '../../src-shared/errors';

export type Provider = 'cuda' | 'dml' | 'coreml' | 'cpu';

export interface ModelSession {
  session: ort.InferenceSession;
  /** The execution provider the session runs on. */
  provider: Provider;
}

export interface ProviderReport {
  /** Providers this onnxruntime-node build knows on this platform, best first. */
  available: Provider[];
  /** Of those, the ones whose libraries do not ship in the package (CUDA on Linux: fetched by its install script). */
  notBundled: Provider[];
  /** What createSession tries, in order: available, minus those that failed in this process. */
  order: Provider[];
  /** Providers that failed to open a session in this process, with onnxruntime's reason. */
  failed: { provider: Provider; reason: string }[];
}

/** The GPU provider each platform's onnxruntime-node build can have, best first. */
function preferred(): Provider[] {
  if (process.platform === 'win32') return ['dml', 'cpu'];
  if (process.platform === 'darwin') return ['coreml', 'cpu'];
  return ['cuda', 'cpu'];
}

/** GPU providers that failed once: a missing CUDA library fails the same way for every model. */
const failed = new Map<Provider, string>();

/**
 * A provider the package does not bundle (CUDA on Linux) is there only when its install script
 * fetched the library; skip it otherwise, rather than have onnxruntime fail loudly every run.
 */
function installed(provider: string): boolean {
  if (provider !== 'cuda' || process.platform !== 'linux') return true;
  try {
    const dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-node'));
    const bin = join(dist, '..', 'bin', 'napi-v6', process.platform, process.arch).replace(`app.asar${sep}`, `app.asar.unpacked${sep}`);
    return existsSync(join(bin, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return true;
  }
}

function backends(): Map<string, boolean> {
  return new Map(ort.listSupportedBackends().filter((b) => b.bundled || installed(b.name)).map((b) => [b.name, b.bundled]));
}

/** The providers this machine's onnxruntime-node build has, best first; CPU always last. */
export function candidateProviders(): Provider[] {
  const have = backends();
  return preferred().filter((p) => p === 'cpu' || (have.has(p) && !failed.has(p)));
}

/** What this machine can run models on, for the About box and the logs. */
export function describeProviders(): ProviderReport {
  const have = backends();
  const available = preferred().filter((p) => p === 'cpu' || have.has(p));
  return {
    available,
    notBundled: available.filter((p) => have.get(p) === false),
    order: candidateProviders(),
    failed: [...failed].map(([provider, reason]) => ({ provider, reason })),
  };
}

function refuse(modelPath: string, what: string): AppError {
  return new AppError(ErrorCode.BadInput, `${modelPath}: ${what}`);
}

/**
 * Open a model on the best provider the machine has; when a GPU session cannot be created (no
 * driver, no CUDA libraries) fall back to the next, and remember the failure for this process.
 * A file that no provider can open is refused as BadInput, naming the file.
 */
export async function createSession(modelPath: string, providers: Provider[] = candidateProviders()): Promise<ModelSession> {
  const stats = statSync(modelPath, { throwIfNoEntry: false });
  if (!stats) throw refuse(modelPath, 'no such model file; check the path, or download the model again');
  if (!stats.isFile()) throw refuse(modelPath, 'is a folder, not an ONNX model file; choose the .onnx file inside it');

  const have = backends();
  const tried = providers.filter((p) => p === 'cpu' || (have.has(p) && !failed.has(p)));
  if (tried.length === 0) {
    throw new AppError(
      ErrorCode.BadInput,
      `none of the providers asked for (${providers.join(', ')}) can run here; this machine has ${describeProviders().order.join(', ')}`,
    );
  }
  const errors = new Map<Provider, string>();
  for (const provider of tried) {
    try {
      const session = await ort.InferenceSession.create(modelPath, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
      });
      // Only a later success proves that the providers before it, not the file, were at fault.
      for (const [earlier, reason] of errors) failed.set(earlier, reason);
      return { session, provider };
    } catch (error) {
      errors.set(provider, error instanceof Error ? error.message : String(error));
    }
  }
  const cpuError = errors.get('cpu');
  if (cpuError === undefined) {
    const reasons = [...errors].map(([p, reason]) => `${p}: ${reason}`).join('; ');
    throw new AppError(ErrorCode.Internal, `${modelPath}: could not be opened on ${tried.join(' or ')}; allow the CPU to run it. onnxruntime said: ${reasons}`);
  }
  throw refuse(
    modelPath,
    `is not an ONNX model that can be opened (damaged, incomplete, or another kind of file); download it again or choose another file. onnxruntime said: ${cpuError}`,
  );
}
