// The catalog import file (`npm run catalog -- import <file>`): JSON Lines, one product per line,
//   {"sku": "MUG-001", "name": "Enamel mug", "priceCents": 1299, "currency": "USD", "stock": 40}
// `currency` may be left out (USD). Blank lines are skipped. Every line is checked before anything is
// written; each problem names its line and field. JSON Lines rather than CSV: names may hold commas
// and quotes, and each line parses on its own, so a problem's line number is always exact.

export interface CatalogRow {
  /** Line in the file (1-based), for messages. */
  readonly line: number;
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  readonly currency: string;
  readonly stock: number;
}

export interface CatalogProblem {
  readonly line: number;
  /** What is wrong, naming the field: `priceCents must be ...`. */
  readonly message: string;
}

const FIELDS = ['sku', 'name', 'priceCents', 'currency', 'stock'];
/** The products table's integer columns hold at most this. */
const MAX_INT = 2_147_483_647;
const SKU = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_NAME_LENGTH = 200;

/** Every valid row, and a problem for every invalid line (a file with problems is imported not at all). */
export function parseCatalogFile(text: string): { rows: CatalogRow[]; problems: CatalogProblem[] } {
  const rows: CatalogRow[] = [];
  const problems: CatalogProblem[] = [];
  const firstLineOfSku = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    const result = parseLine(raw, line);
    if ('message' in result) {
      problems.push(result);
      return;
    }
    const seen = firstLineOfSku.get(result.sku);
    if (seen !== undefined) {
      problems.push({ line, message: `sku "${result.sku}" is already on line ${seen}` });
      return;
    }
    firstLineOfSku.set(result.sku, line);
    rows.push(result);
  });
  return { rows, problems };
}

function parseLine(raw: string, line: number): CatalogRow | CatalogProblem {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return { line, message: `is not valid JSON (${(err as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { line, message: 'must be a JSON object' };
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => !FIELDS.includes(key));
  if (unknown !== undefined) return { line, message: `${unknown} is not a field (fields: ${FIELDS.join(', ')})` };

  const problem = (message: string): CatalogProblem => ({ line, message });
  const { sku, name, priceCents, stock } = fields;
  const currency = fields.currency ?? 'USD';
  if (sku === undefined) return problem('sku is required');
  if (typeof sku !== 'string' || !SKU.test(sku)) {
    return problem(`sku must be 1 to 64 letters, digits, '.', '_' or '-' (starting with a letter or digit), got ${JSON.stringify(sku)}`);
  }
  if (name === undefined) return problem('name is required');
  if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_NAME_LENGTH) {
    return problem(`name must be a non-blank string of at most ${MAX_NAME_LENGTH} characters, got ${JSON.stringify(name)}`);
  }
  const wholeNumber = (field: string, v: unknown): CatalogProblem | undefined => {
    if (v === undefined) return problem(`${field} is required`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_INT) {
      return problem(`${field} must be a whole number from 0 to ${MAX_INT}, got ${JSON.stringify(v)}`);
    }
    return undefined;
  };
  const badPrice = wholeNumber('priceCents', priceCents);
  if (badPrice) return badPrice;
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) {
    return problem(`currency must be a three-letter ISO 4217 code in capitals, got ${JSON.stringify(currency)}`);
  }
  const badStock = wholeNumber('stock', stock);
  if (badStock) return badStock;
  return { line, sku, name: name.trim(), priceCents: priceCents as number, currency, stock: stock as number };
}
