// Admin actions of this area (issue 20): filled in by the builder of the area.
import type { AdminAction } from '../action.ts';

export const resourceActions: AdminAction[] = [];
