import { FailedFilterSchema, ListFilterSchema } from '../../src/client';
import { visibilityQuery } from '../../src/shared/visibility-query';

describe('visibilityQuery', () => {
  it('joins typed clauses with AND, each value quoted', () => {
    expect(
      visibilityQuery([
        ['WorkflowType', '=', 'longTask'],
        ['LongrunAgent', '=', 'codebase-review'],
        ['ExecutionStatus', '!=', 'ContinuedAsNew'],
      ])
    ).toBe(
      "WorkflowType = 'longTask' AND LongrunAgent = 'codebase-review' AND ExecutionStatus != 'ContinuedAsNew'"
    );
  });

  it("refuses a value that could end its literal (an agent name with a ')", () => {
    for (const value of ["x' OR WorkflowType = 'y", 'a"b', 'a\\b', '', 'x'.repeat(201)]) {
      expect(() => visibilityQuery([['LongrunAgent', '=', value]])).toThrow(/cannot be compared in a query/);
    }
  });

  it('is guarded by the filters: both refuse such an agent name with the rule', () => {
    expect(FailedFilterSchema.safeParse({ agent: "x' OR 1=1" }).success).toBe(false);
    expect(ListFilterSchema.safeParse({ agent: "x' OR 1=1" }).success).toBe(false);
  });
});
