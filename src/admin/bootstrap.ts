import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Config } from '../config/config.ts';
import type { Stores } from '../ports/index.ts';
import { AdminError, saveClient, type ClientInput } from './clients.ts';
import { saveUser, type UserInput } from './users.ts';
import { saveResourceServer, type ResourceInput } from './resources.ts';

export interface BootstrapFile {
  clients?: ClientInput[];
  users?: UserInput[];
  /** The registry of resource servers (admin/resources.ts). */
  resources?: ResourceInput[];
}

export function readBootstrapFile(path: string): BootstrapFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AdminError(`TESSERA_BOOTSTRAP_FILE: cannot read ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new AdminError(`TESSERA_BOOTSTRAP_FILE: ${path} does not parse: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new AdminError(`TESSERA_BOOTSTRAP_FILE: ${path} must hold an object with clients and users`);
  const { clients, users, resources, ...rest } = doc as Record<string, unknown>;
  if (Object.keys(rest).length) throw new AdminError(`TESSERA_BOOTSTRAP_FILE: unknown keys ${Object.keys(rest).join(', ')}`);
  if (clients !== undefined && !Array.isArray(clients)) throw new AdminError('TESSERA_BOOTSTRAP_FILE: clients must be a list');
  if (users !== undefined && !Array.isArray(users)) throw new AdminError('TESSERA_BOOTSTRAP_FILE: users must be a list');
  if (resources !== undefined && !Array.isArray(resources)) throw new AdminError('TESSERA_BOOTSTRAP_FILE: resources must be a list');
  return { clients: clients as ClientInput[] | undefined, users: users as UserInput[] | undefined, resources: resources as ResourceInput[] | undefined };
}

/** Applies the file idempotently: a second run with the same file changes nothing. */
export async function applyBootstrap(stores: Stores, config: Config, file: BootstrapFile, now: number): Promise<{ clients: number; users: number; resources: number; generatedSecrets: Record<string, string> }> {
  const generatedSecrets: Record<string, string> = {};
  let clients = 0;
  let users = 0;
  let resources = 0;
  for (const r of file.resources ?? []) {
    if ((await saveResourceServer(stores, config, r, now)).changed) resources++;
  }
  for (const c of file.clients ?? []) {
    const r = await saveClient(stores, config, c, now);
    if (r.changed) clients++;
    if (r.secret) generatedSecrets[r.client.clientId] = r.secret;
  }
  for (const u of file.users ?? []) {
    if ((await saveUser(stores, u, now)).changed) users++;
  }
  return { clients, users, resources, generatedSecrets };
}
