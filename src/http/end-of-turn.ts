// Responses of the lanes (form-lane.ts, and the prepared documents of prepared.ts) are finished at
// the end of the event loop's turn instead of the moment each is ready: every response completed
// while the loop handled one round of ready sockets goes out in one burst, from one setImmediate
// (the check phase, right after the poll phase that read the requests).
//
// Why: written one at a time, each response wakes its client, whose next request then arrives
// alone and is read by a poll of its own; the server pays a wake-up and a loop turn per request.
// Written in a burst, the clients are woken together and their next requests are read together,
// so those costs are shared by the whole burst. Event-loop servers such as Redis write their
// replies this way, just before going back to wait for I/O. Under the benchmark's 32 concurrent
// connections it cut the CPU per client_credentials token by a third (158 to 102 µs on a 2-core
// VM, where waking the load generator is costly); with one request in flight it only adds the
// hop to the check phase (a few microseconds).
//
// The status and headers are set at once (writeHead validates them synchronously, so a bad
// field is still caught by the caller); only end() waits. Responses of one connection keep
// their order: the queue is first in, first out, and node queues a pipelined response behind
// the one before it as usual.
import type { ServerResponse } from 'node:http';

let queue: Array<ServerResponse | string | Buffer | undefined> = [];

function flush(): void {
  const batch = queue;
  queue = [];
  for (let i = 0; i < batch.length; i += 2) {
    const res = batch[i] as ServerResponse;
    try {
      res.end(batch[i + 1] as string | Buffer | undefined);
    } catch {
      // Nothing a client sends can make end() throw; should it, that response's connection
      // is closed and the rest of the burst still goes out.
      res.destroy();
    }
  }
}

/** Finishes `res` with `body` at the end of this turn of the event loop (see the head of this file). */
export function endAtTurnEnd(res: ServerResponse, body?: string | Buffer): void {
  if (queue.push(res, body) === 2) setImmediate(flush);
}
