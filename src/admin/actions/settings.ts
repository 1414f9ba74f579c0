// The effective settings: every setting's value (secrets redacted, passwords in URLs masked, as
// `tessera config show` prints them) and where it came from.
import { z } from 'zod';
import { effectiveSettings } from '../../config/config.ts';
import { defineAction } from '../action.ts';

export const settingsActions = [
  defineAction({
    name: 'settings.read',
    summary:
      'Every setting with its effective value and its source (environment, file, profile, default); secrets are never shown, only whether they are set.',
    permission: 'admin:settings:read',
    event: 'admin_settings_read',
    input: z.object({}).strict(),
    http: { method: 'GET', path: '/settings' },
    async run(ctx) {
      return { result: { settings: effectiveSettings(ctx.p.config) } };
    },
  }),
];
