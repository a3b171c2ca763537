/** One server-sent event as read by SseReader. */
export interface SseMessage {
  event: string;
  data: any;
}

/**
 * Reads a `text/event-stream` answer message by message. `next(match)` waits for the first
 * message (after those already taken) that `match` accepts, up to `timeoutMs`.
 */
export class SseReader {
  private buffer = '';
  private readonly messages: SseMessage[] = [];
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  constructor(private readonly response: Response, private readonly abort: AbortController) {
    if (response.body === null) throw new Error('no body');
    this.reader = response.body.getReader();
  }

  /** Opens `url` as a stream with these headers. */
  static async open(url: string, headers: Record<string, string>): Promise<SseReader> {
    const abort = new AbortController();
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
    return new SseReader(response, abort);
  }

  get status(): number {
    return this.response.status;
  }

  get contentType(): string | null {
    return this.response.headers.get('content-type');
  }

  async next(match: (message: SseMessage) => boolean, timeoutMs = 15_000): Promise<SseMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.messages.findIndex(match);
      if (index >= 0) return this.messages.splice(index, 1)[0] as SseMessage;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching server-sent event within ${timeoutMs} ms (have: ${JSON.stringify(this.messages.map((m) => m.event))})`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        this.reader.read(),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), left);
        }),
      ]);
      clearTimeout(timer);
      if (chunk === 'timeout') continue;
      if (chunk.done) throw new Error('stream ended');
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
      this.parse();
    }
  }

  close(): void {
    this.abort.abort();
  }

  private parse(): void {
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) this.messages.push({ event, data: JSON.parse(data.join('\n')) });
    }
  }
}
