/**
 * CSV (RFC 4180) for exports opened in spreadsheets. A text cell that starts with a
 * character a spreadsheet reads as a formula (`=`, `+`, `-`, `@`, tab, CR) gets a
 * leading apostrophe, so a crafted file name cannot run as a formula on a person's
 * machine (OWASP "CSV injection").
 */

/** One cell: numbers as they are, null as empty, text quoted when it must be. */
export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One line with its CRLF ending. */
export function csvLine(values: readonly (string | number | boolean | null | undefined)[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
