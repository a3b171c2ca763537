import type { WorkflowDefinition } from '../config/workflow-definition.js';

/** Header names that carry credentials: `authorization`, and any `*-token` or `*-key`. */
const CREDENTIAL_HEADER = /^(?:authorization|proxy-authorization|.+[-_](?:token|key))$/i;

/**
 * Warnings for a definition that writes a credential in clear into an HTTP step's headers,
 * where it is stored and shown as plain definition data. A value that is wholly templated is
 * not literal (`Bearer {{secrets.TOKEN}}`, or one forwarded from the request), so only values
 * without any `{{…}}` are reported.
 */
export function credentialWarnings(definition: WorkflowDefinition): string[] {
  const warnings: string[] = [];
  for (const step of definition.steps) {
    if (step.type !== 'http') continue;
    for (const [name, value] of Object.entries(step.headers ?? {})) {
      if (CREDENTIAL_HEADER.test(name) && !value.includes('{{') && value.trim() !== '') {
        warnings.push(`steps.${step.id}.headers.${name}: looks like a literal credential, stored and shown as plain definition data; store it as a workspace secret (PUT /api/workspaces/:ws/secrets/NAME) and write {{secrets.NAME}} instead`);
      }
    }
  }
  return warnings;
}
