// A server start-up's storage preparation (app.ts prepareStorage: signing key, bootstrap file) in a
// process of its own, started by bootstrap-concurrent.test.ts. It loads everything, says it is
// ready, and waits for the gate file, so that two of them prepare the same database at once.
import { existsSync, writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { openStores, prepareStorage } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';

const [gate, ready] = process.argv.slice(2) as [string, string];
const config = loadConfig(process.env);
const { stores } = await openStores(config, { migrate: false });
writeFileSync(ready, '');
while (!existsSync(gate)) await new Promise((r) => setTimeout(r, 2));
const logged: Record<string, unknown>[] = [];
const log = pino(
  { level: 'info' },
  {
    write: (line: string) => {
      logged.push(JSON.parse(line));
    },
  },
);
const { banner } = await prepareStorage(config, stores, log);
const applied = logged.find((l) => l.msg === 'bootstrap file applied')!;
process.stdout.write(
  JSON.stringify({ clients: applied.clients_changed, users: applied.users_changed, banner: banner ?? '' }),
);
await stores.close();
