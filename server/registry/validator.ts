/**
 * Compiles the envelope schema and every (type, version) data schema once,
 * at start, with Ajv. Validation reports JSON pointers into the event.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { envelopeSchema } from '../../shared/cloudevent.ts';
import type { Registry } from '../../shared/registry.ts';
import { ConfigError } from '../config.ts';

// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export interface SchemaProblem {
  /** JSON pointer into the event. */
  pointer: string;
  detail: string;
}

export interface EventValidator {
  envelope(event: unknown): SchemaProblem[];
  /** Undefined when the registry has no such (type, version). */
  data(type: string, version: number, data: unknown): SchemaProblem[] | undefined;
}

export function createValidator(registry: Registry): EventValidator {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  ajv.addKeyword({ keyword: 'x-sensitive', schemaType: 'boolean' });
  addFormats(ajv, ['date-time', 'date', 'email', 'uri', 'uri-reference', 'uuid']);

  const envelope = ajv.compile(envelopeSchema);
  const dataValidators = new Map<string, ValidateFunction>();
  for (const definition of registry.values()) {
    for (const v of definition.versions) {
      try {
        dataValidators.set(`${definition.type}@${v.version}`, ajv.compile(v.schema));
      } catch (error) {
        throw new ConfigError(`registry: the schema of ${definition.type} version ${v.version} is invalid: ${(error as Error).message}`);
      }
    }
  }

  return {
    envelope: (event) => (envelope(event) ? [] : toProblems(envelope.errors, '')),
    data(type, version, data) {
      const validate = dataValidators.get(`${type}@${version}`);
      if (!validate) return undefined;
      return validate(data) ? [] : toProblems(validate.errors, '/data');
    },
  };
}

function toProblems(errors: ErrorObject[] | null | undefined, prefix: string): SchemaProblem[] {
  return (errors ?? []).map((e) => {
    // A missing property is reported on its parent; point at the property itself.
    const missing = e.keyword === 'required' ? `/${escapePointer(String(e.params.missingProperty))}` : '';
    const extra = e.keyword === 'propertyNames' ? `/${escapePointer(String(e.params.propertyName))}` : '';
    const pointer = `${prefix}${e.instancePath}${missing}${extra}`;
    return { pointer, detail: describe(e) };
  });
}

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'required':
      return `is required`;
    case 'enum':
      return `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(e.params.allowedValue)}`;
    case 'propertyNames':
      return 'is not a valid attribute name (CloudEvents: lower-case letters and digits, at most 20)';
    case 'format':
      return e.params.format === 'date-time' ? 'must be an RFC 3339 date-time with a time zone' : `must be a valid ${e.params.format}`;
    default:
      return e.message ?? 'is invalid';
  }
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
