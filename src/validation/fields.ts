import type { ValidationError } from 'class-validator';

/** Flattens class-validator errors (nested inputs included) into `{ field: message }`. */
export function validationFields(errors: readonly ValidationError[], prefix = ''): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const error of errors) {
    const name = prefix ? `${prefix}.${error.property}` : error.property;
    const [message] = Object.values(error.constraints ?? {});
    if (message !== undefined) fields[name] = message;
    if (error.children?.length) Object.assign(fields, validationFields(error.children, name));
  }
  return fields;
}
