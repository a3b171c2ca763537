import type { RespondStepDefinition } from '../../../config/workflow-definition.js';
import { HookflowError } from '../../../errors/catalogue.js';
import type { StepKind } from '../../step.js';
import { renderTemplate, renderText } from '../../templates.js';

/** What a respond step produces, and what a `result`-mode trigger answers its caller with. */
export interface RespondOutput {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * The respond step: the answer a waiting caller gets (trigger `response.mode: "result"`), its
 * status, headers and body rendered from templates. It calls nothing; on triggers that do not
 * wait, its output is simply recorded like any step's.
 */
export function createRespondStep(): StepKind<RespondStepDefinition> {
  return {
    type: 'respond',
    async run(step, context) {
      const status = typeof step.status === 'number' ? step.status : Number(renderText(step.status, context.memory));
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        throw new HookflowError('HOOKFLOW_ERR_TEMPLATE', `Respond status must be a whole number from 200 to 599 (got "${String(status)}")`);
      }
      const headers = Object.fromEntries(Object.entries(step.headers ?? {}).map(([name, value]) => [name.toLowerCase(), renderText(value, context.memory)]));
      const body = step.body === undefined ? null : renderTemplate(step.body, context.memory);
      const output: RespondOutput = { status, headers, body };
      return { output };
    },
  };
}
