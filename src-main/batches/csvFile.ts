import { readFile, stat } from 'node:fs/promises';
import { AppError, ErrorCode } from '../../src-shared/errors';

/** Far above what MAX_BATCH_ROWS rows of MAX_VALUE_CHARS values need; a bigger file is not a batch's list of people. */
const MAX_CSV_BYTES = 20 * 1024 * 1024;

/** A CSV file's text, or an error for people naming the file and what to do. */
export async function readCsvFile(path: string): Promise<string> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new AppError(ErrorCode.BadInput, `${path} does not exist; choose the CSV file again`);
    throw new AppError(ErrorCode.Io, `${path} could not be read (${error.code ?? error.message}); check that you may open it`);
  });
  if (info.isDirectory()) throw new AppError(ErrorCode.BadInput, `${path} is a folder; choose a .csv file in it`);
  if (info.size > MAX_CSV_BYTES) {
    throw new AppError(ErrorCode.BadInput, `${path} is ${(info.size / 1024 / 1024).toFixed(0)} MB; a batch's CSV is at most ${MAX_CSV_BYTES / 1024 / 1024} MB, so split it`);
  }
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new AppError(ErrorCode.Io, `${path} could not be read (${error.code ?? error.message}); check that you may open it`);
  });
  const saveAs = 'save it from your spreadsheet as "CSV UTF-8 (comma delimited)"';
  if (bytes.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) {
    throw new AppError(ErrorCode.BadInput, `${path} is a spreadsheet workbook (xlsx or ods), not CSV; ${saveAs}`);
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new AppError(ErrorCode.BadInput, `${path} is UTF-16 text ("Unicode text"), not UTF-8; ${saveAs}`);
  }
  if (bytes.includes(0)) throw new AppError(ErrorCode.BadInput, `${path} is not a text file; choose a CSV file, or ${saveAs}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new AppError(ErrorCode.BadInput, `${path} is not UTF-8 text (perhaps Windows-1252 or Latin-1); ${saveAs}`);
  }
  if (text.replace(/^\uFEFF/, '').trim() === '') {
    throw new AppError(ErrorCode.BadInput, `${path} is empty; its first row should name the columns (e.g. first_name,email) and each row after it is one video`);
  }
  return text;
}
