/**
 * The webhook URLs with their key, as the create answer gave them: kept in memory only (never in
 * browser storage) so the workflow page can show them once, right after creation.
 */
const created = new Map<string, { webhookUrl: string; testWebhookUrl: string }>();

export function rememberCreatedUrls(ws: string, wf: string, urls: { webhookUrl: string; testWebhookUrl: string }): void {
  created.set(`${ws}/${wf}`, urls);
}

/** The URLs remembered for this workflow, if it was created in this page's lifetime. */
export function createdUrls(ws: string, wf: string): { webhookUrl: string; testWebhookUrl: string } | undefined {
  return created.get(`${ws}/${wf}`);
}
