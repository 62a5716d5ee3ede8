// Parse-at-the-edge: checks a value against a contract schema and reports the first problem clearly.
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { CatalogError } from '../lib/catalog-error.js';

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checkerFor<T extends TSchema>(schema: T): TypeCheck<T> {
  let checker = compiled.get(schema);
  if (!checker) {
    checker = TypeCompiler.Compile(schema);
    compiled.set(schema, checker);
  }
  return checker as TypeCheck<T>;
}

/** Open API routes report `VALIDATION_ERROR`; the OAuth endpoint reports its table's `INVALID_REQUEST`. */
export function validate<T extends TSchema>(
  schema: T,
  value: unknown,
  what = 'body',
  code: 'VALIDATION_ERROR' | 'INVALID_REQUEST' = 'VALIDATION_ERROR',
): Static<T> {
  const checker = checkerFor(schema);
  const prefix = code === 'VALIDATION_ERROR' ? 'Validations error' : 'Invalid request';
  if (value === undefined) {
    throw new CatalogError(code, `${prefix}: request ${what} is required`);
  }
  if (checker.Check(value)) return value;
  const first = checker.Errors(value).First();
  const path = first?.path ? first.path.replace(/^\//, '').replace(/\//g, '.') : what;
  const detail = first ? `${path || what}: ${first.message}` : `${what} is invalid`;
  throw new CatalogError(code, `${prefix}: ${detail}`);
}
