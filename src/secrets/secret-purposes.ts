/**
 * Names of the secrets a workflow owns and the associated data that binds each ciphertext to its
 * row. Kept in secrets/, below both ingress/ (which reads trigger keys) and workflows/ (which
 * writes them), so neither imports upward.
 */
/** The `purpose` of each kind of secret a workflow owns (see SecretRecord). */
export const SECRET_PURPOSE = {
  sharedKey: 'trigger.sharedKey',
  signature: 'trigger.signature.secret',
  handshake: 'trigger.handshake.secret',
  llmApiKey: (stepId: string) => `steps.${stepId}.apiKey`,
} as const;

/**
 * Associated data binding a ciphertext to its row and, when it has one, to its destination
 * origin: moved to another row, or its recorded origin edited in the database, it fails to
 * decrypt. Rows without an origin keep the associated data they were written with.
 */
export function secretAssociatedData(secret: { id: string; workspaceId: string; workflowId: string; purpose: string; origin?: string | null }): string {
  const row = `hookflow-secret:${secret.id}:${secret.workspaceId}:${secret.workflowId}:${secret.purpose}`;
  return secret.origin === undefined || secret.origin === null ? row : `${row}:origin=${secret.origin}`;
}

/**
 * Associated data of a workspace secret: binds the ciphertext to its workspace, its name and
 * its allowed origins, so neither moving it to another name nor widening its origins in the
 * database leaves it readable.
 */
export function workspaceSecretAssociatedData(secret: { workspaceId: string; name: string; allowedOrigins: readonly string[] }): string {
  return `hookflow-workspace-secret:${secret.workspaceId}:${secret.name}:${JSON.stringify(secret.allowedOrigins)}`;
}
