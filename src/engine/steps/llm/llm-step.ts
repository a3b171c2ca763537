import type { LlmStepDefinition } from '../../../config/workflow-definition.js';
import { HookflowError } from '../../../errors/catalogue.js';
import { failedAnswer } from '../../net/failed-answer.js';
import type { GuardedHttpClient } from '../../net/guarded-fetch.js';
import { requireSecretDestination } from '../../net/origin.js';
import { DEFAULT_STEP_TIMEOUT_MS, type StepKind } from '../../step.js';
import { renderText } from '../../templates.js';
import { tokensOf, type LlmBudget } from './llm-budget.js';

/**
 * Looks up the step's decrypted API key (stored encrypted, never in the definition) and the
 * origin it was saved for (null when stored before origins were recorded).
 */
export type ApiKeyLookup = (workspaceId: string, workflowId: string, stepId: string) => Promise<{ value: string; origin: string | null } | undefined>;

interface ChatCompletion {
  choices?: { message?: { content?: unknown } }[];
  usage?: Record<string, unknown>;
}

/**
 * The LLM step: one OpenAI-compatible `/chat/completions` call (OpenAI, Ollama, vLLM,
 * LM Studio…). Output is the reply text; token usage goes to the step record.
 */
export function createLlmStep(deps: { client: GuardedHttpClient; apiKey: ApiKeyLookup; budget?: LlmBudget }): StepKind<LlmStepDefinition> {
  return {
    type: 'llm',
    async run(step, context) {
      // Before any call: a workflow past its tokens for today makes no more paid calls.
      await deps.budget?.check(context.workspaceId, context.workflowId);
      const prompt = renderText(step.prompt, context.memory);
      const system = step.system === undefined ? undefined : renderText(step.system, context.memory);
      const url = `${step.baseUrl.replace(/\/+$/, '')}/chat/completions`;
      const stored = await deps.apiKey(context.workspaceId, context.workflowId, step.id);
      // The management API refuses to re-point a kept key; this holds even if the stored
      // definition and the key's origin ever disagree (an edit outside the API, a bug).
      if (stored !== undefined && stored.origin !== null) requireSecretDestination({ secret: `the API key of step "${step.id}"`, boundTo: [stored.origin], url });
      const apiKey = stored?.value;
      const messages = [
        ...(system === undefined ? [] : [{ role: 'system', content: system }]),
        { role: 'user', content: prompt },
      ];
      const request = {
        model: step.model,
        messages,
        ...(step.temperature === undefined ? {} : { temperature: step.temperature }),
        ...(step.maxTokens === undefined ? {} : { max_tokens: step.maxTokens }),
      };
      const redirects = step.followRedirects ?? (apiKey === undefined ? 'any' : 'same-origin');
      const response = await deps.client.request({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json', ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }) },
        body: JSON.stringify(request),
        timeoutMs: step.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
        signal: context.signal,
        // The stored key is bound to the step's origin: never sent elsewhere, even when opted in.
        redirects,
        boundHeaders: ['authorization'],
      });
      if (response.status >= 300 && response.status < 400) {
        throw new HookflowError('HOOKFLOW_ERR_STEP_FAILED', `LLM endpoint ${new URL(step.baseUrl).origin} answered ${response.status}, a redirect not followed (followRedirects: "${redirects}")`, { transient: false });
      }
      if (response.status >= 400) {
        // The answer's body is not included: providers sometimes echo request details back.
        throw failedAnswer({ message: `LLM endpoint ${new URL(step.baseUrl).origin} answered ${response.status}`, status: response.status, headers: response.headers });
      }
      let completion: ChatCompletion;
      try {
        completion = JSON.parse(response.body.toString('utf8')) as ChatCompletion;
      } catch (cause) {
        throw new HookflowError('HOOKFLOW_ERR_STEP_FAILED', 'LLM endpoint answered with something other than JSON', { cause });
      }
      await deps.budget?.record(context.workspaceId, context.workflowId, tokensOf(completion.usage));
      const content = completion.choices?.[0]?.message?.content;
      if (typeof content !== 'string') throw new HookflowError('HOOKFLOW_ERR_STEP_FAILED', 'LLM answer has no choices[0].message.content');
      return { output: content, ...(completion.usage === undefined ? {} : { usage: { model: step.model, ...completion.usage } }) };
    },
  };
}
