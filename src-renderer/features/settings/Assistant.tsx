/** The script assistant's endpoint, model and key (issue 9). */
export function AssistantSettingsSection() {
  return null;
}
