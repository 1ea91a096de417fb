import type { Generated } from 'kysely';
import type { AvatarKind, AvatarStatus } from '../../src-shared/avatar';
import type { RenderStage, VideoStatus } from '../../src-shared/video';

export interface VideosTable {
  id: string;
  title: string;
  project_json: string;
  status: VideoStatus;
  stage: RenderStage | null;
  progress: number;
  output_path: string | null;
  work_dir: string | null;
  error: string | null;
  /** Seconds spent in each stage of the last render, as JSON. */
  timings_json: string | null;
  duration_seconds: number | null;
  /** The video encoder of the last render. */
  encoder: string | null;
  /** What the last render wants the user to know (a hardware encode that fell back to software). */
  note: string | null;
  created_at: string;
  updated_at: string;
}

export interface AvatarsTable {
  id: string;
  name: string;
  kind: AvatarKind;
  /** The user's original photo or clip; never modified or deleted by us. */
  source_path: string | null;
  /** What preparation computed (face box, landmarks, rig...), as JSON. */
  data_json: string | null;
  created_at: string;
  status: AvatarStatus;
  progress: number;
  error: string | null;
  /** Folder of prepared files (normalised photo or clip proxy, thumbnail, preview). */
  files_dir: string | null;
  updated_at: string;
}

export interface VoicesTable {
  id: string;
  name: string;
  engine: 'espeak' | 'piper' | 'recording';
  language: string;
  model_path: string | null;
  created_at: string;
}

export interface TemplatesTable {
  id: string;
  name: string;
  format: string;
  definition_json: string;
  builtin: number;
  created_at: string;
  updated_at: string | null;
}

export interface AccountsTable {
  id: string;
  email: string | null;
  tier: 'free' | 'premium';
  credits: number;
  updated_at: string;
}

export interface SettingsTable {
  key: string;
  value_json: string;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  type: string;
  subject_id: string | null;
  data_json: string | null;
}

export interface Database {
  videos: VideosTable;
  avatars: AvatarsTable;
  voices: VoicesTable;
  templates: TemplatesTable;
  accounts: AccountsTable;
  settings: SettingsTable;
  audit_log: AuditLogTable;
}
