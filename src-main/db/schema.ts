import type { Generated } from 'kysely';
import type { AvatarKind, AvatarStatus } from '../../src-shared/avatar';
import type { ModelKind, ModelOrigin, ModelStatus } from '../../src-shared/model';
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
  /** The batch this video is one row of (null for a video of its own), and its spreadsheet row. */
  batch_id: string | null;
  batch_row: number | null;
  created_at: string;
  updated_at: string;
}

/** A personalised batch: one project with {{variables}}, one video per CSV row. */
export interface BatchesTable {
  id: string;
  title: string;
  /** The project as written, with its {{variables}} (each row's video holds its filled copy). */
  project_json: string;
  /** The CSV read when the batch started: its path, header and rows, kept for the results file. */
  csv_path: string;
  columns_json: string;
  rows_json: string;
  /** Written back in the results file as it was read. */
  csv_delimiter: ',' | ';';
  csv_bom: number;
  out_dir: string;
  results_path: string;
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
  /** Not read since 005: the tier and credits come from the verified grant (src-main/account). */
  credits: number;
  updated_at: string;
  server_url: string | null;
  cloud_account_id: string | null;
  device_id: string | null;
  /** The Ed25519 key grants must be signed with: configured, or pinned at the first sign-in. */
  server_kid: string | null;
  server_key: string | null;
  grant_token: string | null;
  /** Why the last grant received was not used (tampered, expired, wrong key), for the Account screen. */
  grant_problem: string | null;
  devices_json: string | null;
  last_sync_at: string | null;
  last_sync_error: string | null;
}

export interface AccountOutboxTable {
  id: string;
  kind: 'spend' | 'revoke';
  state: 'local' | 'pending' | 'settled' | 'refused';
  cloud_account_id: string | null;
  server_url: string | null;
  grant_id: string | null;
  credits: number;
  video_id: string | null;
  payload: string | null;
  /** UTC month of a spend, YYYY-MM: signed-out spends count against that month's free credits. */
  period: string;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  settled_at: string | null;
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

export interface ModelsTable {
  id: string;
  name: string;
  kind: ModelKind;
  version: string | null;
  /** Voices: the espeak-ng language they speak. */
  language: string | null;
  origin: ModelOrigin;
  /** The model's own folder, <home>/models/<id>; its files are named in files_json. */
  dir: string;
  /** [{name, bytes, sha256}], the main .onnx first. */
  files_json: string;
  bytes: number;
  /** The main file's sha256. */
  sha256: string;
  licence: string;
  /** 1 when the licence allows commercial use; anything else needs the user's acknowledgement to activate. */
  commercial_use: number;
  /** Where it was downloaded from, or the path it was imported from. */
  source_url: string | null;
  status: ModelStatus;
  /** Why the download or import failed. */
  error: string | null;
  received_bytes: number;
  /** 1 for the one model of its kind renders use (a partial unique index keeps it to one). */
  active: number;
  usage_count: number;
  /** Per execution provider: {ms, runs, at} or {error, at}, as JSON. */
  latency_json: string | null;
  created_at: string;
  updated_at: string;
}

export interface Database {
  videos: VideosTable;
  avatars: AvatarsTable;
  voices: VoicesTable;
  templates: TemplatesTable;
  accounts: AccountsTable;
  account_outbox: AccountOutboxTable;
  settings: SettingsTable;
  audit_log: AuditLogTable;
  models: ModelsTable;
  batches: BatchesTable;
}
