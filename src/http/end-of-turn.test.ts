import assert from 'node:assert/strict';
import { createServer, request, Agent, type Server } from 'node:http';
import { connect } from 'node:net';
import { describe, it, before, after } from 'node:test';
import { endAtTurnEnd } from './end-of-turn.ts';

// A real node:http server whose handler finishes every response with endAtTurnEnd, as the lanes do.
describe('endAtTurnEnd', () => {
  let server: Server;
  let base: string;
  let handled = 0;

  before(async () => {
    server = createServer((req, res) => {
      handled++;
      const id = new URL(req.url!, 'http://x').searchParams.get('id') ?? '';
      if (id === 'head') return endAtTurnEnd(res.writeHead(204, { 'x-id': id }));
      // A response whose client has gone by the time the turn ends.
      if (id === 'gone') {
        req.socket.destroy();
        return endAtTurnEnd(res.writeHead(200, { 'content-type': 'text/plain' }), 'lost');
      }
      endAtTurnEnd(res.writeHead(200, { 'content-type': 'text/plain', 'x-id': id }), `body-${id}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const get = (path: string, agent: Agent) =>
    new Promise<{ status: number; id: string | undefined; body: string }>((resolve, reject) => {
      request(`${base}${path}`, { agent }, (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (c) => {
            body += c;
          })
          .on('end', () => resolve({ status: res.statusCode!, id: res.headers['x-id'] as string | undefined, body }));
      })
        .on('error', reject)
        .end();
    });

  it('answers many concurrent requests, each with its own status, headers and body', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => get(`/?id=${i}`, agent)));
    agent.destroy();
    answers.forEach((a, i) => assert.deepEqual(a, { status: 200, id: String(i), body: `body-${i}` }));
  });

  it('finishes a response without a body', async () => {
    const agent = new Agent();
    assert.deepEqual(await get('/?id=head', agent), { status: 204, id: 'head', body: '' });
    agent.destroy();
  });

  it('finishes nothing before the end of the turn, and everything by the next check phase', async () => {
    const local = createServer((_req, res) => {
      endAtTurnEnd(res.writeHead(200), 'x');
      const atOnce = res.writableEnded;
      setImmediate(() => local.emit('seen', [atOnce, res.writableEnded]));
    });
    await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
    const seen = new Promise<boolean[]>((r) => local.once('seen', r));
    const agent = new Agent();
    const port = (local.address() as { port: number }).port;
    await new Promise<void>((r) =>
      request(`http://127.0.0.1:${port}/`, { agent }, (x) => x.resume().on('end', r)).end(),
    );
    agent.destroy();
    await new Promise<void>((r) => local.close(() => r()));
    assert.deepEqual(await seen, [false, true]);
  });

  it('keeps the order of pipelined responses on one connection', async () => {
    const port = Number(new URL(base).port);
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (c) => {
        data += c;
        if ((data.match(/body-p\d/g) ?? []).length === 3) {
          socket.end();
          resolve(data);
        }
      });
      socket.on('error', reject);
      socket.write(['p1', 'p2', 'p3'].map((id) => `GET /?id=${id} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    });
    assert.deepEqual(text.match(/body-p\d/g), ['body-p1', 'body-p2', 'body-p3']);
  });

  it('a client gone before the end of the turn does not stop the others in the same burst', async () => {
    const before = handled;
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const gone = get('/?id=gone', agent).then(
      () => 'answered',
      () => 'closed',
    );
    const rest = Array.from({ length: 7 }, (_, i) => get(`/?id=g${i}`, agent));
    assert.equal(await gone, 'closed');
    const answers = await Promise.all(rest);
    agent.destroy();
    answers.forEach((a, i) => assert.equal(a.body, `body-g${i}`));
    assert.equal(handled - before, 8);
  });
});
