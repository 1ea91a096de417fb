import { creditCost, describeIssues, estimateSeconds, projectSchema, type ProjectInput } from './project';

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

/** A CSV file read: its header, its rows with their spreadsheet row numbers, and what was wrong with it. */
export interface CsvTable {
  columns: string[];
  /** Rows of people, blank ones skipped; `row` as a spreadsheet numbers it (the header is row 1). */
  rows: { row: number; values: string[] }[];
  /** `;` for the files spreadsheets write in locales where the comma is the decimal mark. */
  delimiter: ',' | ';';
  /** The file began with a UTF-8 byte-order mark (as "CSV UTF-8" exports do). */
  bom: boolean;
  issues: BatchIssue[];
}

/**
 * Read CSV text as RFC 4180 describes it: quoted fields may hold the delimiter, line breaks and
 * `""` for a quote; lines end in CRLF or LF. The delimiter is `;` when the header has semicolons
 * and no commas outside quotes. Every record is a spreadsheet row, so a blank line keeps its row
 * number but is not a person.
 */
export function parseCsv(text: string): CsvTable {
  const bom = text.startsWith('\uFEFF');
  if (bom) text = text.slice(1);
  const delimiter = headerDelimiter(text);
  const records: string[][] = [];
  const issues: BatchIssue[] = [];
  let record: string[] = [];
  let field = '';
  let i = 0;
  const endField = () => {
    record.push(field);
    field = '';
  };
  const endRecord = () => {
    endField();
    records.push(record);
    record = [];
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '"' && field === '') {
      const opened = records.length + 1;
      let j = i + 1;
      for (;;) {
        const close = text.indexOf('"', j);
        if (close < 0) {
          issues.push({ row: opened, message: `row ${opened}: a value starts with a double quote that is never closed; end it with " (a quote inside a quoted value is written "")` });
          field += text.slice(j);
          j = text.length;
          break;
        }
        field += text.slice(j, close);
        if (text[close + 1] === '"') {
          field += '"';
          j = close + 2;
          continue;
        }
        j = close + 1;
        break;
      }
      i = j;
      // Text between the closing quote and the delimiter is kept, as spreadsheets do.
      continue;
    }
    if (c === delimiter) endField();
    else if (c === '\n') endRecord();
    else if (c === '\r') {
      if (text[i + 1] === '\n') i++;
      endRecord();
    } else field += c;
    i++;
  }
  if (field !== '' || record.length > 0) endRecord();
  const [header = [], ...rest] = records;
  const rows = rest
    .map((values, index) => ({ row: index + 2, values }))
    // Blank lines, and the empty rows spreadsheets leave at the end as ",,,".
    .filter(({ values }) => values.some((v) => v.trim() !== ''));
  return { columns: header.map((c) => c.trim()), rows, delimiter, bom, issues };
}

function headerDelimiter(text: string): ',' | ';' {
  let quoted = false;
  let commas = 0;
  let semicolons = 0;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) break;
    else if (!quoted && c === ',') commas++;
    else if (!quoted && c === ';') semicolons++;
  }
  return semicolons > 0 && commas === 0 ? ';' : ',';
}

/** Write rows as CSV: a value is quoted when it holds the delimiter, a quote, a line break or edge spaces. */
export function formatCsv(rows: readonly (readonly string[])[], delimiter: ',' | ';' = ','): string {
  const quote = (value: string) =>
    value.includes(delimiter) || /["\r\n]/.test(value) || value !== value.trim() ? `"${value.replaceAll('"', '""')}"` : value;
  return rows.map((row) => row.map(quote).join(delimiter) + '\r\n').join('');
}

/** The parts of a project whose text may hold {{variables}}. */
export interface ProjectText {
  title?: string;
  scenes?: readonly ({ text?: string } & Record<string, unknown>)[];
  intro?: ({ text?: string } & Record<string, unknown>) | undefined;
  outro?: ({ text?: string } & Record<string, unknown>) | undefined;
}

const VARIABLE = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/** Each text field of a project, with the name people know it by. */
function textFields(project: ProjectText): { field: string; text: string }[] {
  const fields: { field: string; text: string }[] = [];
  if (typeof project.title === 'string') fields.push({ field: 'title', text: project.title });
  for (const [i, scene] of (project.scenes ?? []).entries()) {
    if (typeof scene.text === 'string') fields.push({ field: `scene ${i + 1}`, text: scene.text });
  }
  if (typeof project.intro?.text === 'string') fields.push({ field: 'intro card', text: project.intro.text });
  if (typeof project.outro?.text === 'string') fields.push({ field: 'outro card', text: project.outro.text });
  return fields;
}

/**
 * The {{variables}} a project's title, scenes and cards use, in order of first use, and the
 * placeholders that are not variables (`{{first name}}`, a `{{` never closed), naming their field.
 */
export function projectVariables(project: ProjectText): { variables: string[]; issues: BatchIssue[] } {
  const variables: string[] = [];
  const issues: BatchIssue[] = [];
  for (const { field, text } of textFields(project)) {
    for (const m of text.matchAll(VARIABLE)) if (!variables.includes(m[1])) variables.push(m[1]);
    // What is left once the good ones are out: any {{ there is a placeholder gone wrong.
    const rest = text.replace(VARIABLE, '');
    for (let at = rest.indexOf('{{'); at >= 0; at = rest.indexOf('{{', at + 2)) {
      const close = rest.indexOf('}}', at + 2);
      const next = rest.indexOf('{{', at + 2);
      if (close < 0 || (next >= 0 && next < close)) {
        const shown = rest.slice(at, at + 20).split('\n')[0];
        issues.push({ row: null, message: `${field}: "${shown}" opens a variable with {{ but never closes it; write {{name}}, e.g. {{first_name}}` });
        continue;
      }
      const inner = rest.slice(at, close + 2);
      const suggestion = inner.slice(2, -2).trim().replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_|_$/g, '') || 'first_name';
      issues.push({
        row: null,
        message: `${field}: ${inner} is not a variable; a name has only letters, digits and _ (write {{${suggestion}}} and name the CSV column ${suggestion})`,
      });
      at = close;
    }
  }
  return { variables, issues };
}

/**
 * Why a project with {{variables}} cannot render as one video (they would be spoken and captioned
 * as written), naming the first field that has one; undefined when it has none.
 */
export function unfilledVariables(project: ProjectText): string | undefined {
  for (const { field, text } of textFields(project)) {
    const found = text.match(new RegExp(VARIABLE.source))?.[0];
    if (found) {
      return `${field}: ${found} is a batch variable with no value here; render this project with a CSV that has a column for it ("Personalise with a CSV" in the editor, or --batch rows.csv), or write the words themselves`;
    }
  }
  return undefined;
}

/** The project with each {{variable}} replaced by its value; variables without a value stay as written. */
export function fillProject<T extends ProjectText>(project: T, values: Readonly<Record<string, string>>): T {
  const fill = (text: string | undefined) =>
    typeof text === 'string' ? text.replace(VARIABLE, (whole, name: string) => (Object.hasOwn(values, name) ? values[name] : whole)) : text;
  const card = (c: ProjectText['intro']) => (c && typeof c.text === 'string' ? { ...c, text: fill(c.text) } : c);
  const filled: T = { ...project };
  if (typeof project.title === 'string') filled.title = fill(project.title);
  if (project.scenes) filled.scenes = project.scenes.map((scene) => (typeof scene.text === 'string' ? { ...scene, text: fill(scene.text) } : scene));
  if (project.intro) filled.intro = card(project.intro);
  if (project.outro) filled.outro = card(project.outro);
  return filled;
}

/** One row's values by column name, trimmed (spreadsheets keep stray spaces people never see). */
export function rowValues(columns: readonly string[], values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, column] of columns.entries()) if (column && !Object.hasOwn(out, column)) out[column] = (values[i] ?? '').trim();
  return out;
}

/** The issues, for people: the first `limit` lines, then how many more. */
export function describeBatchIssues(issues: readonly BatchIssue[], limit = 10): string {
  const lines = issues.slice(0, limit).map((issue) => issue.message);
  if (issues.length > limit) lines.push(`…and ${issues.length - limit} more`);
  return lines.join('\n');
}

/**
 * Check a project's {{variables}} against a CSV read with parseCsv: every problem, with the
 * spreadsheet row it is on, and what the whole batch would cost. Columns the project does not use
 * are fine; they are kept for the results file.
 */
export function checkBatch(project: ProjectText, csv: CsvTable, file: string): BatchCheck {
  const name = file.split(/[\\/]/).pop() || file;
  const { columns, rows } = csv;
  const { variables, issues: placeholderIssues } = projectVariables(project);
  const issues: BatchIssue[] = [...csv.issues];

  const seen = new Map<string, number>();
  for (const [i, column] of columns.entries()) {
    if (column === '') {
      // A trailing delimiter makes a nameless, empty column: harmless unless someone filled it in.
      if (rows.some((r) => (r.values[i] ?? '').trim() !== '')) {
        issues.push({ row: 1, message: `row 1: column ${i + 1} has values but no name in the header; name it, or delete the column` });
      }
      continue;
    }
    if (seen.has(column)) issues.push({ row: 1, column, message: `row 1: the column "${column}" appears twice (columns ${seen.get(column)! + 1} and ${i + 1}); rename one of them` });
    else seen.set(column, i);
  }

  issues.push(...placeholderIssues);
  if (variables.length === 0 && placeholderIssues.length === 0) {
    issues.push({ row: null, message: 'the project uses no {{variables}}, so every row would make the same video; write one where a value from the CSV should go, e.g. "Hi {{first_name}}"' });
  }
  const missing = variables.filter((v) => !seen.has(v));
  for (const variable of missing) {
    const near = columns.find((c) => c.toLowerCase() === variable.toLowerCase());
    const has = columns.filter(Boolean).length ? `its columns are ${columns.filter(Boolean).join(', ')}` : 'it has no header';
    issues.push({
      row: null,
      column: variable,
      message: `the project uses {{${variable}}} but ${name} has no "${variable}" column (${has})${near ? `; "${near}" differs only in case, and names must match exactly` : ''}; add the column or change the project`,
    });
  }

  if (columns.length === 0 || (columns.length === 1 && columns[0] === '')) {
    issues.push({ row: null, message: `${name} is empty; its first row should name the columns (e.g. first_name,email) and each row after it is one video` });
  } else if (rows.length === 0) {
    issues.push({ row: null, message: `${name} has a header but no rows; add one row per video below it` });
  }
  if (rows.length > MAX_BATCH_ROWS) {
    issues.push({ row: null, message: `${name} has ${rows.length} rows; a batch makes at most ${MAX_BATCH_ROWS} videos, so split the file` });
  }

  // The project itself, filled with stand-ins: a fault there is one issue, not one per row.
  const standIns = Object.fromEntries(variables.map((v) => [v, v]));
  const template = projectSchema.safeParse(fillProject(project, standIns));
  if (!template.success) issues.push({ row: null, message: describeIssues(template.error) });

  const delimiterName = csv.delimiter === ',' ? 'comma' : 'semicolon';
  let seconds = 0;
  let credits = 0;
  for (const { row, values } of rows.slice(0, MAX_BATCH_ROWS)) {
    const filled = fillProject(project, rowValues(columns, values));
    const length = estimateSeconds(filled as Pick<ProjectInput, 'scenes'>);
    seconds += length;
    credits += creditCost(length);
    const extra = values.slice(columns.length);
    // Trailing empty values (a delimiter at the end of the line) hold nothing that could be lost.
    if (extra.some((v) => v.trim() !== '')) {
      issues.push({ row, message: `row ${row} has ${values.length} values but the header has ${columns.length} columns; put a value that contains a ${delimiterName} in double quotes` });
      continue;
    }
    if (values.length < columns.length) {
      issues.push({ row, message: `row ${row} has ${values.length} value${values.length === 1 ? '' : 's'} but the header has ${columns.length} columns; give every column a value (an empty one is two ${delimiterName}s in a row), and put a value with a line break in double quotes` });
      continue;
    }
    const before = issues.length;
    for (const variable of variables) {
      const index = seen.get(variable);
      if (index === undefined) continue;
      const value = values[index].trim();
      if (value === '') issues.push({ row, column: variable, message: `row ${row}: ${variable} is empty; fill it in, or remove the row` });
      else if (value.length > MAX_VALUE_CHARS) {
        issues.push({ row, column: variable, message: `row ${row}: ${variable} has ${value.length} characters; the most is ${MAX_VALUE_CHARS}, so shorten it` });
      }
    }
    if (issues.length > before || !template.success) continue;
    const parsed = projectSchema.safeParse(filled);
    if (!parsed.success) issues.push({ row, message: `row ${row}: ${describeIssues(parsed.error)}` });
  }
  return { file, columns, variables, rows: rows.length, seconds, credits, issues };
}
