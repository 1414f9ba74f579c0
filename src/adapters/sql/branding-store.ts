import type { Branding, BrandingStore } from '../../ports/branding.ts';
import type { SqlContext } from './statements.ts';

const BRANDING = 'branding';
const LOGO = 'branding.logo';

export function createSqlBrandingStore({ db }: SqlContext): BrandingStore {
  const write = (name: string, value: unknown, at: number) =>
    db
      .insertInto('settings')
      .values({ name, value: JSON.stringify(value), updated_at: at })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value: JSON.stringify(value), updated_at: at }))
      .execute();
  return {
    async get() {
      const row = await db.selectFrom('settings').selectAll().where('name', '=', BRANDING).executeTakeFirst();
      if (!row) return undefined;
      return { branding: JSON.parse(row.value) as Branding, updatedAt: Number(row.updated_at) };
    },
    async put(branding, at, logo) {
      await write(BRANDING, branding, at);
      if (logo === null) await db.deleteFrom('settings').where('name', '=', LOGO).execute();
      else if (logo !== undefined) await write(LOGO, Buffer.from(logo).toString('base64'), at);
    },
    async logo() {
      const row = await db.selectFrom('settings').select('value').where('name', '=', LOGO).executeTakeFirst();
      return row ? new Uint8Array(Buffer.from(JSON.parse(row.value) as string, 'base64')) : undefined;
    },
  };
}
