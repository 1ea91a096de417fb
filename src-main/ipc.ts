import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { channels, type Channel, type ChannelOutput } from '../src-shared/ipc';
import { AppError, ErrorCode, toErrorData, type Result } from '../src-shared/errors';
import { describeIssues } from '../src-shared/project';

export type Handlers = { [C in Channel]: (input: unknown) => Promise<Result<ChannelOutput<C>>> };
type UseCases = { [C in Channel]: (input: never) => Promise<ChannelOutput<C>> | ChannelOutput<C> };

/**
 * One handler per channel: parse the input with its schema, call the use case, answer
 * {ok:true,value} or {ok:false,error}. Pure (no electron), so tests and the e2e harness serve
 * the page with exactly the code the app runs.
 */
export function createHandlers(useCases: UseCases): Handlers {
  const handlers = {} as Record<Channel, (input: unknown) => Promise<Result<unknown>>>;
  for (const channel of Object.keys(channels) as Channel[]) {
    handlers[channel] = async (input) => {
      const parsed = channels[channel].input.safeParse(input ?? {});
      if (!parsed.success) {
        return { ok: false, error: { code: ErrorCode.BadInput, message: describeIssues(parsed.error, channel) } };
      }
      try {
        return { ok: true, value: await (useCases[channel] as (input: unknown) => unknown)(parsed.data) };
      } catch (error) {
        return { ok: false, error: toErrorData(error) };
      }
    };
  }
  return handlers as Handlers;
}

/** Wire the handlers to Electron, answering only frames of our own page. */
export function registerIpc(
  ipcMain: IpcMain,
  handlers: Handlers,
  isTrustedSender: (event: IpcMainInvokeEvent) => boolean,
): void {
  for (const channel of Object.keys(handlers) as Channel[]) {
    ipcMain.handle(channel, (event, input: unknown) => {
      if (!isTrustedSender(event)) {
        return { ok: false, error: toErrorData(new AppError(ErrorCode.Forbidden, `${channel}: refused a call from an unknown page`)) };
      }
      return handlers[channel](input);
    });
  }
}
