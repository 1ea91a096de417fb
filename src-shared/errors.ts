/** Error codes that cross the IPC boundary and the CLI. Errors travel as data, never as instances. */
export const ErrorCode = {
  BadInput: 'BAD_INPUT',
  NotFound: 'NOT_FOUND',
  IllegalTransition: 'ILLEGAL_TRANSITION',
  Cancelled: 'CANCELLED',
  Ffmpeg: 'FFMPEG_FAILED',
  Speech: 'SPEECH_FAILED',
  Io: 'IO_FAILED',
  Forbidden: 'FORBIDDEN',
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface AppErrorData {
  code: ErrorCode;
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: AppErrorData };

/** An error meant for people: `message` names the file or field, what is wrong and what to do. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** Recognise an error by its code (never by instanceof: errors cross bundles, workers and IPC). */
export function errorCode(error: unknown): ErrorCode | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (Object.values(ErrorCode) as string[]).includes(code)
    ? (code as ErrorCode)
    : undefined;
}

export function isCancelled(error: unknown): boolean {
  return errorCode(error) === ErrorCode.Cancelled || (error as Error | null)?.name === 'AbortError';
}

export function toErrorData(error: unknown): AppErrorData {
  const code = errorCode(error);
  if (code) return { code, message: (error as Error).message };
  if ((error as Error | null)?.name === 'AbortError') return { code: ErrorCode.Cancelled, message: 'Cancelled.' };
  return { code: ErrorCode.Internal, message: error instanceof Error ? error.message : String(error) };
}
