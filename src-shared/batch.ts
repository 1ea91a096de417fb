/**
 * Personalised batches: a project whose text uses {{variable}}s plus a CSV file with a column per
 * variable becomes one video per row. Rows are numbered as a spreadsheet shows them: the header
 * is row 1, the first person row 2.
 */

/** A problem with a batch, found before anything renders. */
export interface BatchIssue {
  /** The spreadsheet row (the header is row 1); null for the file as a whole. */
  row: number | null;
  /** The column (variable) concerned, when there is one. */
  column?: string;
  /** For people: what is wrong and what to do. */
  message: string;
}

/** What checking a project against a CSV found. */
export interface BatchCheck {
  /** The CSV file checked. */
  file: string;
  /** The CSV's header. */
  columns: string[];
  /** The variables the project uses, in order of first use. */
  variables: string[];
  /** Rows of people (the header not counted). */
  rows: number;
  /** Estimated length of all the videos together, and the credits they cost. */
  seconds: number;
  credits: number;
  /** Empty when the batch can render. */
  issues: BatchIssue[];
}

export type BatchStatus = 'rendering' | 'completed' | 'failed' | 'cancelled';

/** A batch as the Renders screen shows it. */
export interface BatchSummary {
  id: string;
  title: string;
  /** rendering while any row is queued or rendering; then completed (every row made), failed (some row failed) or cancelled. */
  status: BatchStatus;
  rows: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Fraction of the whole batch done, 0..1 (rows in progress count by their own progress). */
  progress: number;
  outDir: string;
  /** The results CSV (each row's MP4 or error), written as rows finish. */
  resultsPath: string;
  /** The batch's videos, in row order. */
  videoIds: string[];
  createdAt: string;
}

/** At most this many rows in one batch. */
export const MAX_BATCH_ROWS = 1000;
/** At most this many characters in one CSV value. */
export const MAX_VALUE_CHARS = 500;
