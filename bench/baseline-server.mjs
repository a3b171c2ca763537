// The baseline: a bare Fastify server that parses the same JSON body and answers 200.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/api/webhook/:ws/:wf', async (request) => ({ status: 'accepted', workflow_started: true, size: Object.keys(request.body ?? {}).length }));
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${app.server.address().port}` })}\n`);
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => app.close().then(() => process.exit(0)));
