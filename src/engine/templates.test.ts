import { describe, expect, it } from 'vitest';
import { isHookflowError } from '../errors/catalogue.js';
import { isVariableName, renderTemplate, renderText, templateReferences, templateVariables } from './templates.js';

const order = {
  id: 'ord_1',
  total: 42.5,
  paid: true,
  coupon: null,
  customer: { email: 'ada@example.com', name: 'Ada' },
  items: [
    { sku: 'A-1', qty: 2 },
    { sku: 'B-2', qty: 1 },
  ],
};
const memory = {
  requestBody: order,
  orderHeaders: { 'content-type': 'application/json', 'x-github-event': 'push' },
  greeting: 'hello',
  count: 3,
  nothing: null,
};

function templateError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    expect(isHookflowError(error, 'HOOKFLOW_ERR_TEMPLATE')).toBe(true);
    expect((error as { transient: boolean }).transient).toBe(false);
    return error as Error;
  }
  throw new Error('expected a template error');
}

describe('renderTemplate', () => {
  it('renders an object as JSON inside a longer string (the seed LLM prompt)', () => {
    expect(renderTemplate('Process the following order: {{requestBody}}', memory)).toBe(
      `Process the following order: ${JSON.stringify(order)}`,
    );
  });

  it('keeps the value itself when the string is exactly one expression (the seed HTTP body)', () => {
    const body = renderTemplate('{{requestBody}}', memory);
    expect(body).toEqual(order);
    expect(renderTemplate('{{count}}', memory)).toBe(3);
    expect(renderTemplate('{{requestBody.paid}}', memory)).toBe(true);
    expect(renderTemplate('{{nothing}}', memory)).toBeNull();
    expect(renderTemplate('{{requestBody.items}}', memory)).toEqual(order.items);
  });

  it('renders scalars as text inside a longer string', () => {
    expect(renderTemplate('{{greeting}}, {{requestBody.customer.name}}!', memory)).toBe('hello, Ada!');
    expect(renderTemplate('n={{count}} paid={{requestBody.paid}} coupon={{requestBody.coupon}}', memory)).toBe(
      'n=3 paid=true coupon=null',
    );
    expect(renderTemplate('items: {{requestBody.items}}', memory)).toBe(`items: ${JSON.stringify(order.items)}`);
  });

  it('follows nested paths, array indexes and quoted keys', () => {
    expect(renderTemplate('{{requestBody.customer.email}}', memory)).toBe('ada@example.com');
    expect(renderTemplate('{{requestBody.items[1].sku}}', memory)).toBe('B-2');
    expect(renderTemplate('{{requestBody.items.0.qty}}', memory)).toBe(2);
    expect(renderTemplate('{{orderHeaders.x-github-event}}', memory)).toBe('push');
    expect(renderTemplate(`{{orderHeaders["content-type"]}}`, memory)).toBe('application/json');
    expect(renderTemplate(`{{orderHeaders['content-type']}}`, memory)).toBe('application/json');
  });

  it('allows whitespace and newlines inside the braces', () => {
    expect(renderTemplate('{{ requestBody.customer.email }}', memory)).toBe('ada@example.com');
    expect(renderTemplate('to: {{\n  greeting\n}}', memory)).toBe('to: hello');
  });

  it('recurses through arrays and plain objects, leaving keys and non-string leaves alone', () => {
    const input = {
      '{{greeting}}': '{{requestBody.id}}',
      list: ['{{count}}', 7, false, null, { deep: 'x {{greeting}}' }],
      when: new Date(0),
    };
    expect(renderTemplate(input, memory)).toEqual({
      '{{greeting}}': 'ord_1',
      list: [3, 7, false, null, { deep: 'x hello' }],
      when: new Date(0),
    });
    expect(renderTemplate(12, memory)).toBe(12);
    expect(renderTemplate(null, memory)).toBeNull();
    expect(renderTemplate(undefined, memory)).toBeUndefined();
    expect(renderTemplate('no templates here', memory)).toBe('no templates here');
    expect(input.list[0]).toBe('{{count}}');
  });

  it('names an unknown variable', () => {
    expect(templateError(() => renderTemplate('Order: {{orderData}}', memory)).message).toBe(
      'Unknown variable "orderData"',
    );
    expect(templateError(() => renderTemplate({ a: ['{{ orderData.id }}'] }, memory)).message).toBe(
      'Unknown variable "orderData"',
    );
  });

  it('names the whole path when part of it is missing', () => {
    const cases: Array<[string, string]> = [
      ['{{requestBody.customer.phone}}', 'Path "requestBody.customer.phone" not found'],
      ['x {{ requestBody.items[5].sku }}', 'Path "requestBody.items[5].sku" not found'],
      ['{{requestBody.coupon.code}}', 'Path "requestBody.coupon.code" not found'],
      ['{{greeting.length}}', 'Path "greeting.length" not found'],
    ];
    for (const [template, message] of cases) {
      expect(templateError(() => renderTemplate(template, memory)).message).toBe(message);
    }
  });

  it('refuses to walk into inherited properties', () => {
    for (const template of [
      '{{requestBody.constructor}}',
      '{{requestBody.__proto__}}',
      '{{requestBody.constructor.prototype}}',
      '{{requestBody.hasOwnProperty}}',
      '{{requestBody.items.map}}',
    ]) {
      expect(templateError(() => renderTemplate(template, memory)).message).toMatch(/^Path ".*" not found$/);
    }
    expect(templateError(() => renderTemplate('{{constructor}}', memory)).message).toBe(
      'Unknown variable "constructor"',
    );
    expect(templateError(() => renderTemplate('{{toString}}', {})).message).toBe('Unknown variable "toString"');
  });

  it('reads an own "__proto__" data key without touching prototypes', () => {
    const parsed = JSON.parse('{"payload": {"__proto__": {"polluted": true}}}') as Record<string, unknown>;
    expect(renderTemplate('{{payload.__proto__.polluted}}', parsed)).toBe(true);
    const rendered = renderTemplate(JSON.parse('{"__proto__": "{{count}}"}'), memory) as object;
    expect(Object.getPrototypeOf(rendered)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(rendered, '__proto__')?.value).toBe(3);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('rejects malformed expressions and never evaluates them', () => {
    for (const template of ['{{ 1+1 }}', '{{}}', '{{ a b }}', '{{a..b}}', '{{a[x]}}', '{{a()}}', '{{9lives}}']) {
      const message = templateError(() => renderTemplate(template, { a: { b: 1 } })).message;
      expect(message).toBe(`Invalid template expression "${template}"`);
    }
  });

  it('leaves an unclosed brace pair as literal text', () => {
    expect(renderTemplate('literal {{ not closed', memory)).toBe('literal {{ not closed');
  });
});

describe('renderText', () => {
  it('renders a lone expression as text: objects and arrays as JSON, scalars as text', () => {
    expect(renderText('{{requestBody.customer}}', memory)).toBe('{"email":"ada@example.com","name":"Ada"}');
    expect(renderText('{{requestBody.items}}', memory)).toBe(JSON.stringify(order.items));
    expect(renderText('{{count}}', memory)).toBe('3');
    expect(renderText('{{nothing}}', memory)).toBe('null');
    expect(renderText('{{greeting}}', memory)).toBe('hello');
    expect(renderText('to {{requestBody.customer.email}}', memory)).toBe('to ada@example.com');
  });
});

describe('templateVariables', () => {
  it('lists referenced variables once, in order of first appearance', () => {
    const step = {
      url: 'https://api.example.com/{{requestBody.id}}',
      headers: { authorization: 'Bearer {{ token }}' },
      body: ['{{requestBody}}', '{{webhook.eventId}}', 5],
    };
    expect(templateVariables(step)).toEqual(['requestBody', 'token', 'webhook']);
    expect(templateVariables('plain')).toEqual([]);
  });

  it('rejects malformed expressions like rendering does', () => {
    expect(templateError(() => templateVariables({ a: '{{ 1+1 }}' })).message).toBe(
      'Invalid template expression "{{ 1+1 }}"',
    );
  });
});

describe('isVariableName', () => {
  it('matches the memory variable rule', () => {
    expect(['a', '_x', 'orderData', 'A1_b'].every(isVariableName)).toBe(true);
    expect(['', '1a', 'a-b', 'a.b', 'a b'].some(isVariableName)).toBe(false);
  });
});

describe('defaults: {{path ?? literal}}', () => {
  it('uses the default when the variable or a step of the path is missing', () => {
    expect(renderTemplate('{{requestBody.customer.phone ?? "unknown"}}', memory)).toBe('unknown');
    expect(renderTemplate('{{ notThere ?? 0 }}', memory)).toBe(0);
    expect(renderTemplate('{{requestBody.items[5].sku ?? false}}', memory)).toBe(false);
    expect(renderText('Call {{requestBody.customer.phone ?? "nobody"}} now', memory)).toBe('Call nobody now');
  });

  it('uses the default for null, and never for a value that is there', () => {
    expect(renderTemplate('{{requestBody.coupon ?? "none"}}', memory)).toBe('none');
    expect(renderTemplate('{{requestBody.customer.name ?? "x"}}', memory)).toBe('Ada');
    expect(renderTemplate('{{requestBody.paid ?? false}}', memory)).toBe(true);
    expect(renderTemplate('{{count ?? 0}}', memory)).toBe(3);
  });

  it('keeps path keys that contain ?? when quoted, and refuses a default that is not a JSON literal', () => {
    expect(renderTemplate('{{orderHeaders["x-github-event"] ?? "none"}}', memory)).toBe('push');
    expect(templateError(() => renderTemplate('{{a ?? unquoted}}', memory)).message).toContain('Invalid default');
    expect(templateError(() => renderTemplate('{{a ?? {"x":1}}}', memory)).message).toMatch(/Invalid (default|template)/);
  });

  it('reports each reference with its position and whether it has a default', () => {
    expect(templateReferences('Hi {{requestBody.customer.name}}, {{ secrets.TOKEN ?? "" }}')).toEqual([
      { variable: 'requestBody', firstKey: 'customer', hasDefault: false, position: 3 },
      { variable: 'secrets', firstKey: 'TOKEN', hasDefault: true, position: 34 },
    ]);
    const error = templateError(() => templateReferences('ok {{ bad expr }}'));
    expect((error as unknown as { details: unknown }).details).toEqual({ position: 3 });
  });
});
