/** A failed call to the cloud, sorted by what the outbox should do about it. */
export class CloudError extends Error {
  constructor(
    readonly kind: 'network' | 'timeout' | 'http',
    message: string,
    readonly status = 0,
    readonly code = '',
    /** From Retry-After on a 429 or 503. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'CloudError';
  }

  /** Worth trying again later: the cloud was unreachable, slow, failing or busy. */
  get transient(): boolean {
    return this.kind !== 'http' || this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

function retryAfterMs(header: string | null, now: number): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** One JSON request to the cloud at `base`, given up after `timeoutMs`. */
export async function callCloud<T>(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; accessToken?: string; timeoutMs: number; now?: () => number },
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(new URL(path, base), {
      method,
      headers: {
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(options.accessToken ? { authorization: `Bearer ${options.accessToken}` } : {}),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') throw new CloudError('timeout', `the cloud at ${base} did not answer within ${options.timeoutMs} ms`);
    throw new CloudError('network', `the cloud at ${base} cannot be reached (${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message})`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new CloudError((error as Error).name === 'TimeoutError' ? 'timeout' : 'network', `the cloud at ${base} broke off its answer to ${method} ${path}`);
  }
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    if (response.ok) throw new CloudError('http', `the cloud answered ${method} ${path} with something other than JSON`, response.status, 'BAD_ANSWER');
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new CloudError(
      'http',
      error?.message ?? `the cloud answered ${method} ${path} with HTTP ${response.status}`,
      response.status,
      error?.code ?? '',
      retryAfterMs(response.headers.get('retry-after'), (options.now ?? Date.now)()),
    );
  }
  return json as T;
}
