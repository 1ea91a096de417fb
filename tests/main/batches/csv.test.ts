import { describe, expect, it } from 'vitest';
import { MAX_BATCH_ROWS, MAX_VALUE_CHARS, checkBatch, describeBatchIssues, fillProject, formatCsv, parseCsv, projectVariables, type BatchIssue } from '../../../src-shared/batch';
import { creditCost, estimateSeconds } from '../../../src-shared/project';

const project = {
  title: 'Welcome, {{first_name}}',
  scenes: [{ text: 'Hi {{ first_name }}, welcome to {{shop}}.' }, { text: 'See you on Saturday, {{first_name}}.' }],
};

const check = (csv: string, p: Parameters<typeof checkBatch>[0] = project) => checkBatch(p, parseCsv(csv), '/data/people.csv');
const rowsOf = (issues: BatchIssue[]) => issues.map((i) => i.row);

describe('parseCsv', () => {
  it('reads quoted fields holding commas, line breaks and doubled quotes, with CRLF or LF line ends', () => {
    const csv = parseCsv('name,note\r\n"Smith, Anna","said ""hi""\r\nthen left"\r\nBen,plain\n');
    expect(csv.columns).toEqual(['name', 'note']);
    expect(csv.rows).toEqual([
      { row: 2, values: ['Smith, Anna', 'said "hi"\r\nthen left'] },
      { row: 3, values: ['Ben', 'plain'] },
    ]);
    expect([csv.delimiter, csv.issues]).toEqual([',', []]);
  });

  it('strips a UTF-8 byte-order mark, ignores the trailing newline and skips blank lines while keeping spreadsheet row numbers', () => {
    const csv = parseCsv('\uFEFFfirst_name,shop\n\nAnna,Corner\n,\nBen,Corner\n\n');
    expect(csv.bom).toBe(true);
    expect(csv.columns).toEqual(['first_name', 'shop']);
    // Row 3 is blank and row 5 holds only empty cells: neither is a person, and the rows after them keep their numbers.
    expect(csv.rows).toEqual([
      { row: 3, values: ['Anna', 'Corner'] },
      { row: 5, values: ['Ben', 'Corner'] },
    ]);
  });

  it('reads a semicolon-separated file, as spreadsheets in comma-decimal locales export it, detected from the header', () => {
    const csv = parseCsv('first_name;price\nAnna;"3,50"\n"Ben; Jr";4,20\n');
    expect(csv.delimiter).toBe(';');
    expect(csv.rows.map((r) => r.values)).toEqual([
      ['Anna', '3,50'],
      ['Ben; Jr', '4,20'],
    ]);
    // A header with commas stays comma-separated even when a value has semicolons.
    expect(parseCsv('a,b\n"x;y",z\n').delimiter).toBe(',');
  });

  it('reports a quote never closed with the row it opens on', () => {
    const csv = parseCsv('first_name,shop\nAnna,Corner\nBen,"Corner\nCat,Shop\n');
    expect(csv.issues).toEqual([{ row: 3, message: expect.stringMatching(/^row 3: a value starts with a double quote that is never closed/) }]);
  });
});

describe('formatCsv', () => {
  it('quotes values with the delimiter, quotes, line breaks or edge spaces, and parseCsv reads them back unchanged', () => {
    const rows = [['row', 'name', 'note'], ['2', 'Smith, Anna', 'said "hi"\nthen left'], ['3', ' padded ', 'plain']];
    const text = formatCsv(rows);
    expect(text).toBe('row,name,note\r\n2,"Smith, Anna","said ""hi""\nthen left"\r\n3," padded ",plain\r\n');
    const back = parseCsv(text);
    expect([back.columns, ...back.rows.map((r) => r.values)]).toEqual(rows);
  });
});

describe('projectVariables and fillProject', () => {
  it('finds the variables of the title, scenes and cards in order of first use, and fills them', () => {
    const withCards = { ...project, intro: { text: 'For {{team}}' }, outro: { text: 'Bye {{first_name}}' } };
    expect(projectVariables(withCards)).toEqual({ variables: ['first_name', 'shop', 'team'], issues: [] });
    const filled = fillProject(withCards, { first_name: 'Anna', shop: 'Cycle Corner', team: 'Leeds' });
    expect(filled).toEqual({
      title: 'Welcome, Anna',
      scenes: [{ text: 'Hi Anna, welcome to Cycle Corner.' }, { text: 'See you on Saturday, Anna.' }],
      intro: { text: 'For Leeds' },
      outro: { text: 'Bye Anna' },
    });
    // The project as written is left as it was.
    expect(withCards.title).toBe('Welcome, {{first_name}}');
  });

  it('names the field of a placeholder that is not a variable, and of a {{ never closed', () => {
    const { variables, issues } = projectVariables({ title: 'Hi {{first name}}', scenes: [{ text: 'ok {{shop}}' }, { text: 'Dear {{first_name' }] });
    expect(variables).toEqual(['shop']);
    expect(issues).toEqual([
      { row: null, message: expect.stringMatching(/^title: \{\{first name\}\} is not a variable; .*\{\{first_name\}\}/) },
      { row: null, message: expect.stringMatching(/^scene 2: "\{\{first_name" opens a variable with \{\{ but never closes it/) },
    ]);
  });
});

describe('checkBatch', () => {
  it('passes a good file, keeping columns the project does not use, and totals the seconds and credits of every row', () => {
    const result = check('first_name,shop,email\nAnna,Corner,a@example.com\nBen,"Corner, Leeds",b@example.com\n');
    expect(result).toMatchObject({ file: '/data/people.csv', columns: ['first_name', 'shop', 'email'], variables: ['first_name', 'shop'], rows: 2, issues: [] });
    const anna = fillProject(project, { first_name: 'Anna', shop: 'Corner' });
    const ben = fillProject(project, { first_name: 'Ben', shop: 'Corner, Leeds' });
    expect(result.seconds).toBeCloseTo(estimateSeconds(anna) + estimateSeconds(ben), 6);
    expect(result.credits).toBe(creditCost(estimateSeconds(anna)) + creditCost(estimateSeconds(ben)));
  });

  it('names a variable with no column, and the columns the file has', () => {
    const { issues } = check('First_Name,email\nAnna,a@example.com\n');
    expect(issues).toEqual([
      { row: null, column: 'first_name', message: expect.stringMatching(/^the project uses \{\{first_name\}\} but people\.csv has no "first_name" column \(its columns are First_Name, email\); "First_Name" differs only in case/) },
      { row: null, column: 'shop', message: expect.stringContaining('no "shop" column') },
    ]);
  });

  it('refuses duplicate header names and a column with values but no name, on row 1', () => {
    const { issues } = check('first_name,shop,first_name,\nAnna,Corner,Ann,x\n');
    expect(issues).toEqual([
      { row: 1, column: 'first_name', message: 'row 1: the column "first_name" appears twice (columns 1 and 3); rename one of them' },
      { row: 1, message: 'row 1: column 4 has values but no name in the header; name it, or delete the column' },
    ]);
    // An empty trailing column (a delimiter at the end of each line) holds nothing and is no problem.
    expect(check('first_name,shop,\nAnna,Corner,\n').issues).toEqual([]);
  });

  it('names rows with more or fewer values than the header, an empty value and a value too long, by spreadsheet row', () => {
    const long = 'x'.repeat(MAX_VALUE_CHARS + 1);
    const { issues } = check(`first_name,shop,email,city\nAnna,Corner,a@x,Leeds\n\nBen,Corner,b@x,Leeds,UK\nCat,Corner\n ,Corner,d@x,York\n${long},Corner,e@x,York\n`);
    expect(rowsOf(issues)).toEqual([4, 5, 6, 7]);
    expect(issues[0].message).toBe('row 4 has 5 values but the header has 4 columns; put a value that contains a comma in double quotes');
    expect(issues[1].message).toMatch(/^row 5 has 2 values but the header has 4 columns; give every column a value/);
    expect(issues[2]).toEqual({ row: 6, column: 'first_name', message: 'row 6: first_name is empty; fill it in, or remove the row' });
    expect(issues[3]).toEqual({ row: 7, column: 'first_name', message: `row 7: first_name has ${MAX_VALUE_CHARS + 1} characters; the most is ${MAX_VALUE_CHARS}, so shorten it` });
    // In a semicolon file, the advice names the semicolon.
    expect(check('first_name;shop\nAnna;Corner;x\n').issues[0].message).toContain('a value that contains a semicolon in double quotes');
  });

  it('refuses a row whose filled project breaks the project schema, naming the row and the field', () => {
    // 195 characters fit a value but not the title they are put into (at most 200 characters).
    const { issues } = check(`first_name,shop\nAnna,Corner\n${'A'.repeat(195)},Corner\n`);
    expect(issues).toEqual([{ row: 3, message: expect.stringMatching(/^row 3: project\.title: /) }]);
  });

  it('reports a project fault once rather than for every row', () => {
    const { issues } = check('first_name\nAnna\nBen\n', { title: '{{first_name}}', scenes: [] });
    expect(issues).toEqual([{ row: null, message: expect.stringMatching(/^project\.scenes: a project needs at least one scene/) }]);
  });

  it('refuses a file with no rows, too many rows, and a project that uses no variables', () => {
    expect(check('first_name,shop\n').issues).toEqual([{ row: null, message: 'people.csv has a header but no rows; add one row per video below it' }]);
    const many = `first_name,shop\n${'Anna,Corner\n'.repeat(MAX_BATCH_ROWS + 1)}`;
    expect(check(many).issues).toEqual([{ row: null, message: `people.csv has ${MAX_BATCH_ROWS + 1} rows; a batch makes at most ${MAX_BATCH_ROWS} videos, so split the file` }]);
    expect(check('first_name\nAnna\n', { title: 'Hello', scenes: [{ text: 'Hello everyone.' }] }).issues).toEqual([
      { row: null, message: expect.stringMatching(/^the project uses no \{\{variables\}\}, so every row would make the same video/) },
    ]);
  });

  it('carries an unclosed quote into the check with its row', () => {
    expect(rowsOf(check('first_name,shop\nAnna,"Corner\n').issues)).toContain(2);
  });
});

describe('describeBatchIssues', () => {
  it('lists the first ten problems and says how many more there are', () => {
    const issues = Array.from({ length: 13 }, (_, i) => ({ row: i + 2, message: `row ${i + 2}: bad` }));
    const text = describeBatchIssues(issues);
    expect(text.split('\n')).toHaveLength(11);
    expect(text.split('\n').at(-1)).toBe('…and 3 more');
  });
});
