import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { requestLogger } from './request-logger.ts';

/** A real pino logger writing JSON lines into an array, and how many children it has made. */
function logger(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const parent = pino({ level }, stream);
  const made = { children: 0 };
  const child = parent.child;
  // Counted on the parent only (its children inherit this method and count too).
  parent.child = function (this: typeof parent, ...args: Parameters<typeof child>) {
    if (this === parent) made.children++;
    return child.apply(this, args);
  } as typeof parent.child;
  return { parent, lines, made };
}

describe('request logger', () => {
  it('makes no child while nothing is logged at an enabled level', () => {
    const { parent, lines, made } = logger('warn');
    const log = requestLogger(parent, { reqId: 'r1' }, {});
    log.info({ a: 1 }, 'incoming request');
    log.debug('details');
    assert.equal(made.children, 0);
    assert.equal(lines.length, 0);
    assert.equal(log.level, 'warn');
  });

  it('logs what the child would, with the request id, making the child once', async () => {
    const { parent, lines, made } = logger('info');
    const log = requestLogger(parent, { reqId: 'r2' }, {});
    log.info({ oauth_error: 'invalid_client' }, 'request refused');
    log.warn('second');
    log.debug('not at this level');
    await new Promise((r) => setImmediate(r));
    assert.equal(made.children, 1);
    assert.deepEqual(
      lines.map((l) => [l.reqId, l.msg, l.level]),
      [
        ['r2', 'request refused', 30],
        ['r2', 'second', 40],
      ],
    );
    assert.equal(lines[0]!.oauth_error, 'invalid_client');
    const sub = log.child({ part: 'x' });
    sub.warn('from a grandchild');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([lines[2]!.reqId, lines[2]!.part], ['r2', 'x']);
  });

  it('gives a route with options of its own a real child at once', () => {
    const { parent, made } = logger('info');
    const log = requestLogger(parent, { reqId: 'r3' }, { level: 'error' });
    assert.equal(made.children, 1);
    assert.equal(log.level, 'error');
  });
});
