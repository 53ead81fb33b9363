/**
 * Temporal visibility queries (`WorkflowType = 'longTask' AND LongrunAgent = 'x'`) built from typed
 * clauses, never by pasting text: a value is a literal that can hold no quote, so a name from a
 * caller (an agent, a task id) cannot end its literal and add clauses of its own.
 */
export type VisibilityField =
  'WorkflowType' | 'WorkflowId' | 'ExecutionStatus' | 'TaskQueue' | 'LongrunState' | 'LongrunAgent';

export type VisibilityClause = readonly [field: VisibilityField, op: '=' | '!=', value: string];

/** Ids, names, states and statuses: what a longrun query ever compares. */
const LITERAL = /^[A-Za-z0-9._:-]{1,200}$/;

export function visibilityQuery(clauses: readonly VisibilityClause[]): string {
  return clauses
    .map(([field, op, value]) => {
      if (!LITERAL.test(value)) {
        throw new Error(
          `${field}: "${value.slice(0, 50)}" cannot be compared in a query (letters, digits, . _ : - only)`
        );
      }
      return `${field} ${op} '${value}'`;
    })
    .join(' AND ');
}
