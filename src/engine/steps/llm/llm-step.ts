import type { LlmStepDefinition } from '../../../config/workflow-definition.js';
import { HookflowError } from '../../../errors/catalogue.js';
import { failedAnswer } from '../../net/failed-answer.js';
import type { GuardedHttpClient } from '../../net/guarded-fetch.js';
import { requireSecretDestination } from '../../net/origin.js';
import { SecretScope, type SecretAccess } from '../../secret-scope.js';
import { DEFAULT_STEP_TIMEOUT_MS, type StepContext, type StepKind, type StepOutcome } from '../../step.js';
import { renderText } from '../../templates.js';
import { exceedsDepth } from '../../../util/value-depth.js';
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
 * `{{secrets.NAME}}` may appear in `system`, `prompt` and `apiKey` (e.g. `"{{secrets.OPENAI_KEY}}"`):
 * filled in only as the request is sent, redacted from the reply and errors.
 */
export function createLlmStep(deps: { client: GuardedHttpClient; apiKey: ApiKeyLookup; secrets?: SecretAccess; budget?: LlmBudget; /** Deepest JSON nesting accepted in an answer (HOOKFLOW_MAX_JSON_DEPTH). */ maxJsonDepth: number }): StepKind<LlmStepDefinition> {
  return {
    type: 'llm',
    async run(step, context) {
      // Before any call: a workflow past its tokens for today makes no more paid calls.
      await deps.budget?.check(context.workspaceId, context.workflowId);
      const url = `${step.baseUrl.replace(/\/+$/, '')}/chat/completions`;
      const stored = await deps.apiKey(context.workspaceId, context.workflowId, step.id);
      // The management API refuses to re-point a kept key; this holds even if the stored
      // definition and the key's origin ever disagree (an edit outside the API, a bug).
      if (stored !== undefined && stored.origin !== null) requireSecretDestination({ secret: `the API key of step "${step.id}"`, boundTo: [stored.origin], url });
      const storedKey = stored?.value;
      // A stored key that only names a workspace secret is rendered; any other key is sent as it is.
      const keyTemplate = storedKey !== undefined && SECRET_REFERENCE.test(storedKey) ? storedKey : undefined;
      const scope = await SecretScope.open({ access: deps.secrets, workspaceId: context.workspaceId, memory: context.memory, fields: [step.system, step.prompt, keyTemplate] });
      return scope.guard(async () => {
        const usesSecret = storedKey !== undefined || SECRET_REFERENCE.test(`${step.system ?? ''}${step.prompt}`);
        const redirects = step.followRedirects ?? (usesSecret ? 'same-origin' : 'any');
        const output = await complete(deps.client, deps.maxJsonDepth, step, context, redirects, await scope.reveal({
          url,
          headers: { 'content-type': 'application/json', ...(storedKey === undefined ? {} : { authorization: `Bearer ${keyTemplate === undefined ? storedKey : renderText(keyTemplate, scope.memory)}` }) },
          body: {
            system: step.system === undefined ? undefined : renderText(step.system, scope.memory),
            prompt: renderText(step.prompt, scope.memory),
          },
        }));
        // The call is paid for: a failed bookkeeping write must not fail the step, or the retry
        // would pay for the same call again. The budget undercounts by this call instead.
        const logs: string[] = [];
        try {
          await deps.budget?.record(context.workspaceId, context.workflowId, tokensOf(output.usage));
        } catch (error) {
          logs.push(`token usage was not recorded for the daily budget: ${error instanceof Error ? error.message : String(error)}`);
        }
        return scope.redact(logs.length === 0 ? output : { ...output, logs });
      });
    },
  };
}

/** A template naming a workspace secret, as an LLM step's `apiKey` may be. */
const SECRET_REFERENCE = /\{\{\s*secrets\./;

/** Sends one chat completion request and reads the reply. */
async function complete(
  client: GuardedHttpClient,
  maxJsonDepth: number,
  step: LlmStepDefinition,
  /** The step's cancel signal, and the run's share of the memory budget that its answer joins. */
  call: Pick<StepContext, 'signal' | 'reservation'>,
  redirects: NonNullable<LlmStepDefinition['followRedirects']>,
  request: { url: string; headers: Record<string, string>; body: { system: string | undefined; prompt: string } },
): Promise<StepOutcome> {
  const { system, prompt } = request.body;
  const messages = [
    ...(system === undefined ? [] : [{ role: 'system', content: system }]),
    { role: 'user', content: prompt },
  ];
  const chat = {
    model: step.model,
    messages,
    ...(step.temperature === undefined ? {} : { temperature: step.temperature }),
    ...(step.maxTokens === undefined ? {} : { max_tokens: step.maxTokens }),
  };
  const response = await client.request({
    method: 'POST',
    url: request.url,
    headers: request.headers,
    body: JSON.stringify(chat),
    timeoutMs: step.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
    signal: call.signal,
    ...(call.reservation === undefined ? {} : { reservation: call.reservation }),
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
  // `usage` is stored as sent: a deep one would overflow the stack of the store's hand-over.
  if (exceedsDepth(completion, maxJsonDepth)) {
    throw new HookflowError('HOOKFLOW_ERR_STEP_FAILED', `LLM answer is nested deeper than ${maxJsonDepth} levels (HOOKFLOW_MAX_JSON_DEPTH)`);
  }
  const content = completion.choices?.[0]?.message?.content;
  if (typeof content !== 'string') throw new HookflowError('HOOKFLOW_ERR_STEP_FAILED', 'LLM answer has no choices[0].message.content');
  return { output: content, ...(completion.usage === undefined ? {} : { usage: { model: step.model, ...completion.usage } }) };
}
