import type { AssistantDraft } from '../../src-shared/assistant';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { ProjectDraft } from '../../src-shared/ipc';
import { WORDS_PER_SECOND, describeIssues, estimateSeconds, projectSchema } from '../../src-shared/project';

export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

const wordsFor = (seconds: number) => Math.round(seconds * WORDS_PER_SECOND);

function systemPrompt(): string {
  const pace = Number(WORDS_PER_SECOND.toFixed(1));
  return [
    'You write scripts for short videos in which a presenter speaks to the camera.',
    'Answer with ONLY a JSON object, no other text and no markdown fences, shaped like this:',
    '{"title": "A short title", "scenes": [{"text": "What the presenter says in the first scene."}, {"text": "What they say next."}]}',
    'Rules:',
    '- Each scene\'s "text" is exactly what the presenter says aloud: no stage directions, no camera or music notes, no speaker names, no markdown, no emoji, no headings.',
    '- Each scene is 1 to 4 sentences; start a new scene where the topic changes.',
    '- For a moment of silence write [pause 1s] (or [pause 500ms]) inside a scene\'s text.',
    '- Keep every {{placeholder}} in double curly braces from the brief exactly as written, such as {{first_name}}; each viewer\'s value is filled in later.',
    `- Speech runs at about ${pace} words per second: a 30-second video is about ${wordsFor(30)} words, a 60-second one about ${wordsFor(60)} words. Match the length the brief asks for; when it names none, aim for about 45 seconds (${wordsFor(45)} words).`,
    '- Write in the language the brief is written in.',
    '- The title has at most 80 characters.',
  ].join('\n');
}

const FORMAT_NAMES: Record<string, string> = { '16:9': '16:9 (landscape)', '9:16': '9:16 (vertical, for phones)', '1:1': '1:1 (square)' };

/** What the assistant is told about the video the brief is for. */
function describeProject(project: ProjectDraft): string {
  const scenes = project.scenes.map((scene) => ({ text: typeof scene.text === 'string' ? scene.text : '' }));
  const speed = typeof project.speed === 'number' ? project.speed : undefined;
  const parts = [
    project.title?.trim() ? `its title is "${project.title.trim()}"` : 'it has no title yet',
    typeof project.format === 'string' && FORMAT_NAMES[project.format] ? `its format is ${FORMAT_NAMES[project.format]}` : null,
    `it has ${scenes.length} ${scenes.length === 1 ? 'scene' : 'scenes'} now, about ${Math.round(estimateSeconds({ scenes, speed }))} seconds long`,
  ].filter(Boolean);
  return `The video this script is for: ${parts.join('; ')}. Your scenes replace the ones it has.`;
}

/** The chat messages that ask for a script in our project format. */
export function buildMessages(brief: string, project?: ProjectDraft): ChatMessage[] {
  const user = [`Brief: ${brief.trim()}`, ...(project ? [describeProject(project)] : [])].join('\n\n');
  return [
    { role: 'system', content: systemPrompt() },
    { role: 'user', content: user },
  ];
}

/** The JSON object in a model's answer, which may wrap it in fences, prose or a reasoning block. */
function extractJson(content: string): string | null {
  // Reasoning models (DeepSeek-R1, Qwen3 on Ollama) think aloud first, braces and all.
  const answer = content.replace(/<think>[\s\S]*?(<\/think>|$)/gi, '');
  const fenced = /```(?:json|JSON)?\s*\n?([\s\S]*?)```/.exec(answer);
  const body = fenced ? fenced[1] : answer;
  const start = body.indexOf('{');
  const end = body.lastIndexOf('}');
  // Without a closing brace the answer was cut off: still JSON, only unfinished.
  return start < 0 ? null : body.slice(start, end > start ? end + 1 : undefined);
}

/**
 * Read a model's answer as a script: the JSON object in it, its title and scenes checked with the
 * project schema. `from` names the endpoint in errors.
 */
export function readScript(content: string, from: string): AssistantDraft {
  const retry = 'try again, or try a larger model';
  const json = extractJson(content);
  const excerpt = content.trim().replace(/\s+/g, ' ').slice(0, 120);
  if (json === null) {
    throw new AppError(ErrorCode.Io, `${from} answered with text, not a script (“${excerpt}${excerpt.length === 120 ? '…' : ''}”); ${retry}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new AppError(ErrorCode.Io, `${from} answered with a script that is not valid JSON (${(error as Error).message}); ${retry}`);
  }
  const answer = (value && typeof value === 'object' ? value : {}) as { title?: unknown; scenes?: unknown };
  if (!Array.isArray(answer.scenes)) {
    throw new AppError(ErrorCode.Io, `${from} answered without a list of scenes (script.scenes is missing); ${retry}`);
  }
  // A model that gives bare strings for scenes meant their text.
  const scenes = answer.scenes.map((scene: unknown) => (typeof scene === 'string' ? { text: scene } : { text: (scene as { text?: unknown } | null)?.text }));
  const title = typeof answer.title === 'string' && answer.title.trim() ? answer.title : undefined;
  const parsed = projectSchema.safeParse({ title, scenes });
  if (!parsed.success) {
    throw new AppError(ErrorCode.Io, `${from} answered with a script our projects cannot hold: ${describeIssues(parsed.error, 'script')}; ${retry}`);
  }
  return { title: parsed.data.title, scenes: parsed.data.scenes.map((scene) => ({ text: scene.text })) };
}
