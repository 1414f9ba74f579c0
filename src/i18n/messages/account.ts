// The words of the account area (issue 18). English is the source; the other languages must have every key (the type
// says so), with the same {placeholders}.

export const en = {} as const;

export const de: Record<keyof typeof en, string> = {};

export const fr: Record<keyof typeof en, string> = {};
