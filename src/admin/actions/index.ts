// The table of admin actions: every front (admin API, console, CLI) serves these and only these.
// One file per area; each exports its list. admin/actions/table.test.ts walks the table.
import type { AdminAction } from '../action.ts';
import { auditActions } from './audit.ts';
import { brandingActions } from './branding.ts';
import { clientActions } from './clients.ts';
import { dashboardActions } from './dashboard.ts';
import { directoryActions } from './directory.ts';
import { keyActions } from './keys.ts';
import { resourceActions } from './resources.ts';
import { roleActions } from './roles.ts';
import { sessionActions } from './sessions.ts';
import { settingsActions } from './settings.ts';
import { upstreamActions } from './upstreams.ts';
import { userActions } from './users.ts';
import { webhookActions } from './webhooks.ts';

export const ADMIN_ACTIONS: readonly AdminAction[] = [
  ...dashboardActions,
  ...clientActions,
  ...userActions,
  ...sessionActions,
  ...roleActions,
  ...directoryActions,
  ...resourceActions,
  ...upstreamActions,
  ...webhookActions,
  ...keyActions,
  ...auditActions,
  ...settingsActions,
  ...brandingActions,
] as AdminAction[];

/** The action of this name. */
export function actionNamed(name: string): AdminAction | undefined {
  return ADMIN_ACTIONS.find((a) => a.name === name);
}
