import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { AppError, ErrorCode, errorCode, toErrorData } from '../../src-shared/errors';
import { MODEL_KINDS, MODEL_KIND_LABELS, type ModelKind, type ModelSummary } from '../../src-shared/model';
import { openDatabase } from '../db/connection';
import { defaultHome } from '../paths';
import { useModelRegistry } from './catalogue';
import {
  ModelDownloads,
  activateModel,
  getModelStatistics,
  importModel,
  listCatalogueEntries,
  listModels,
  measureModel,
  removeModel,
  searchModels,
  topModels,
} from './registry';

const USAGE = `Usage: npm run models -- <command> [options]

  list                       the installed models by kind, then the downloadable ones
  search TEXT                find models by name; --kind K, --language L (en finds en-us),
                             --licence TEXT, --limit N (default 20), --offset N
  import FILE                import an ONNX model: its kind is found from its inputs and
                             outputs (or --kind K); --name, --licence TEXT, --commercial
                             (its licence allows commercial use). A Piper voice needs its
                             .onnx.json beside it.
  download ID                download a model from the catalogue (resumes a broken download)
  activate ID                make it the model its kind uses; --acknowledge-licence when its
                             licence does not allow commercial use
  measure ID                 time it on each execution provider this machine has
  top [--kind K]             installed models, fastest first, then most used
  stats                      installed count and size by kind, downloads, failures
  remove ID                  delete a model's files and its entry

Kinds: ${MODEL_KINDS.join(', ')}.
Models live in ${join(defaultHome(), 'models')} (MOUTHPIECE_HOME moves it).
Exit status: 0 done, 2 bad input, 1 any other failure.`;

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

const console_: CliOutput = { out: (l) => console.log(l), err: (l) => console.error(l) };

const mb = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} kB`);

function line(m: ModelSummary): string {
  const flags = [m.active ? 'active' : '', m.status !== 'installed' ? m.status : '', m.commercialUse ? '' : 'non-commercial'].filter(Boolean).join(', ');
  const speed = m.bestMs === null ? '' : `  ${m.bestMs} ms`;
  return `  ${m.id.padEnd(34)} ${m.name}${m.language ? ` [${m.language}]` : ''}  ${mb(m.bytes)}${speed}  used ${m.usageCount}x${flags ? `  (${flags})` : ''}${m.error ? `\n      ${m.error}` : ''}`;
}

function kindOption(value: string | undefined): ModelKind | undefined {
  if (value === undefined) return undefined;
  if (!(MODEL_KINDS as readonly string[]).includes(value)) throw new AppError(ErrorCode.BadInput, `--kind ${value}: not a kind; use one of ${MODEL_KINDS.join(', ')}`);
  return value as ModelKind;
}

function count(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new AppError(ErrorCode.BadInput, `--${name} ${value}: not a whole number`);
  return n;
}

/** Run one models command; answers the exit status. Opens (and closes) the database in `home`. */
export async function runModelsCli(argv: string[], options: { home?: string; output?: CliOutput } = {}): Promise<number> {
  const output = options.output ?? console_;
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        kind: { type: 'string' },
        language: { type: 'string' },
        licence: { type: 'string' },
        name: { type: 'string' },
        limit: { type: 'string' },
        offset: { type: 'string' },
        commercial: { type: 'boolean' },
        'acknowledge-licence': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new AppError(ErrorCode.BadInput, `${(error as Error).message}\n\n${USAGE}`);
  }
  const [command, argument, ...rest] = args.positionals;
  if (args.values.help) {
    output.out(USAGE);
    return 0;
  }
  if (!command) {
    output.err(USAGE);
    return 2;
  }
  const needsArgument = ['search', 'import', 'download', 'activate', 'measure', 'remove'];
  if (!['list', 'top', 'stats', ...needsArgument].includes(command)) throw new AppError(ErrorCode.BadInput, `unknown command "${command}"\n\n${USAGE}`);
  if (needsArgument.includes(command) && !argument) throw new AppError(ErrorCode.BadInput, `${command} needs ${command === 'import' ? 'a FILE' : command === 'search' ? 'TEXT' : 'an ID'}\n\n${USAGE}`);
  if (rest.length) throw new AppError(ErrorCode.BadInput, `unexpected ${rest.join(' ')}; put text with spaces in quotes\n\n${USAGE}`);
  const kind = kindOption(args.values.kind);

  const home = options.home ?? defaultHome();
  const db = await openDatabase(join(home, 'mouthpiece.db'));
  const detach = useModelRegistry(db, home);
  const downloads = new ModelDownloads(db, home, {
    progress: (p) => process.stderr.isTTY && process.stderr.write(`\r${p.status} ${mb(p.receivedBytes)} of ${mb(p.totalBytes)} (${Math.floor((100 * p.receivedBytes) / p.totalBytes)}%)   `),
  });
  const interrupt = () => void downloads.close();
  process.once('SIGINT', interrupt);
  try {
    switch (command) {
      case 'list': {
        const models = await listModels(db);
        for (const k of MODEL_KINDS) {
          const mine = models.filter((m) => m.kind === k);
          if (mine.length) output.out(`${MODEL_KIND_LABELS[k]}:\n${mine.map(line).join('\n')}`);
        }
        if (!models.length) output.out('No models installed yet; the app uses its built-in defaults.');
        const available = (await listCatalogueEntries(db)).filter((e) => e.status !== 'installed');
        output.out(`Downloadable (npm run models -- download ID):`);
        for (const e of available) {
          output.out(`  ${e.id.padEnd(34)} ${e.name}  ${mb(e.bytes)}  ${e.licence}${e.commercialUse ? '' : ' (non-commercial)'}${e.status ? `  [${e.status}]` : ''}`);
        }
        return 0;
      }
      case 'search': {
        const page = await searchModels(db, {
          text: argument,
          kind,
          language: args.values.language,
          licence: args.values.licence,
          limit: Math.max(1, count(args.values.limit, 'limit', 20)),
          offset: count(args.values.offset, 'offset', 0),
        });
        output.out(page.items.map(line).join('\n') || 'No model matches.');
        output.out(`${page.offset + 1}-${page.offset + page.items.length} of ${page.total}`);
        return 0;
      }
      case 'import': {
        const model = await importModel(db, home, {
          path: resolve(argument!),
          kind,
          name: args.values.name,
          licence: args.values.licence,
          commercialUse: args.values.commercial,
        });
        output.out(`Imported ${model.name} as ${model.id} (${MODEL_KIND_LABELS[model.kind]}, ${mb(model.bytes)}). Activate it with: npm run models -- activate ${model.id}`);
        return 0;
      }
      case 'download': {
        const { done } = await downloads.start(argument!);
        const model = await done;
        if (process.stderr.isTTY) process.stderr.write('\n');
        output.out(`Installed ${model.name} (${mb(model.bytes)}, sha256 checked) in ${model.files.length > 1 ? 'its folder' : 'the models folder'}. Activate it with: npm run models -- activate ${model.id}`);
        return 0;
      }
      case 'activate': {
        const model = await activateModel(db, argument!, { acknowledgeLicence: args.values['acknowledge-licence'] });
        output.out(`${model.name} is now the active ${MODEL_KIND_LABELS[model.kind]}.`);
        return 0;
      }
      case 'measure': {
        const model = await measureModel(db, argument!);
        for (const [provider, latency] of Object.entries(model.latency)) {
          output.out(`  ${provider.padEnd(7)} ${latency && 'ms' in latency ? `${latency.ms} ms per run (median of ${latency.runs})` : `could not run: ${latency?.error}`}`);
        }
        return 0;
      }
      case 'top': {
        const models = await topModels(db, kind);
        output.out(models.map(line).join('\n') || 'No installed models.');
        return 0;
      }
      case 'stats': {
        const stats = await getModelStatistics(db);
        for (const k of MODEL_KINDS) {
          const s = stats.byKind[k];
          if (s.installed) output.out(`  ${MODEL_KIND_LABELS[k].padEnd(24)} ${s.installed} installed, ${mb(s.bytes)}${s.active ? `, active: ${s.active}` : ''}`);
        }
        output.out(`${stats.installed} installed (${mb(stats.bytes)}), ${stats.downloads} downloads, ${stats.failures} failures, ${stats.unused} never used`);
        return 0;
      }
      case 'remove': {
        await removeModel(db, home, argument!);
        output.out(`Removed ${argument}.`);
        return 0;
      }
    }
    return 2;
  } finally {
    process.off('SIGINT', interrupt);
    await downloads.close();
    detach();
    await db.destroy();
  }
}

/** The exit status for an error: 2 when the user can fix the input, 1 otherwise. */
export function exitCodeOf(error: unknown): number {
  const code = errorCode(error);
  return code === ErrorCode.BadInput || code === ErrorCode.NotFound || code === ErrorCode.Forbidden || code === ErrorCode.IllegalTransition ? 2 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  runModelsCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`mouthpiece models: ${toErrorData(error).message}`);
      process.exit(exitCodeOf(error));
    },
  );
}
