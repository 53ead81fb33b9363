import {
  budgetSchema,
  budgetLimits,
  budgetLines,
  budgetLineText,
  budgetReached,
  raiseBudget,
  softCrossed,
  stepBudget,
  stepBudgetReached,
  stepSoftCrossed,
} from '../../src/shared/budget';
import { emptyUsage, type ModelUsage } from '../../src/shared/model-usage';
import { issuesOf } from '../../src/shared/validation';

const usage = (u: Partial<ModelUsage>): ModelUsage => ({ ...emptyUsage(), ...u });

describe('model budgets', () => {
  it('reads a bare number as the hard limit with a soft one at 80 %, or soft and hard as given', () => {
    expect(budgetLimits({ costUsd: 5, tokens: { soft: 100 }, calls: { hard: 10 } })).toEqual({
      costUsd: { soft: 4, hard: 5 },
      tokens: { soft: 100, hard: null },
      calls: { soft: null, hard: 10 },
    });
    expect(budgetLimits(undefined)).toBeNull();
    expect(budgetLimits({})).toBeNull();
  });

  it('refuses bad budgets, naming the field and the rule', () => {
    const rules = (value: unknown) => {
      const parsed = budgetSchema().safeParse(value);
      return parsed.success ? [] : issuesOf(parsed.error, 'budget').map((i) => `${i.path}: ${i.rule}`);
    };
    expect(rules({ costUsd: -1 }).join()).toContain('budget.costUsd');
    expect(rules({ calls: { soft: 5, hard: 5 } })).toEqual(['budget.calls.soft: soft must be below hard']);
    expect(rules({ calls: {} })).toEqual(['budget.calls: give "soft", "hard" or both']);
    expect(rules({ dollars: 5 }).join()).toContain('dollars');
  });

  it('says which hard limit is reached and which soft thresholds are newly crossed', () => {
    const limits = budgetLimits({ costUsd: 5, calls: { soft: 2, hard: 4 } });
    expect(budgetReached(limits, usage({ calls: 3, costUsd: 4.5 }))).toBeNull();
    expect(budgetReached(limits, usage({ calls: 1, costUsd: 5 }))).toBe('budget: $5.00 used of $5.00');
    expect(softCrossed(limits, usage({ calls: 2, costUsd: 4 }), [])).toEqual(['costUsd', 'calls']);
    expect(softCrossed(limits, usage({ calls: 2, costUsd: 4 }), ['calls'])).toEqual(['costUsd']);
  });

  it('raises hard limits keeping each soft share', () => {
    const limits = budgetLimits({ costUsd: 5, calls: { soft: 2, hard: 4 }, tokens: { soft: 10 } })!;
    expect(raiseBudget(limits, { costUsd: 10, calls: 8, tokens: 99 })).toEqual({
      costUsd: { soft: 8, hard: 10 },
      calls: { soft: 4, hard: 8 },
      tokens: { soft: 10, hard: 99 }, // a soft-only dimension gets the hard limit given
    });
  });

  it('gives a step what is left, stops it at its hard limit and tells it when it crosses the soft one', () => {
    const limits = budgetLimits({ calls: { soft: 2, hard: 4 } });
    const budget = stepBudget(limits, usage({ calls: 1 }));
    expect(budget).toEqual({ calls: { left: 3, hard: 4, softLeft: 1 } });
    expect(stepBudgetReached(budget, usage({ calls: 2 }))).toBeNull();
    expect(stepBudgetReached(budget, usage({ calls: 3 }))).toBe('budget: 4 model calls of calls reached');
    expect(stepSoftCrossed(budget, usage({ calls: 0 }), usage({ calls: 1 }))).toBe(true);
    expect(stepSoftCrossed(budget, usage({ calls: 1 }), usage({ calls: 2 }))).toBe(false);
  });

  it('projects the spend at the end of the work and says when the budget runs out first', () => {
    const limits = budgetLimits({ costUsd: 5 });
    const [line] = budgetLines(limits, usage({ costUsd: 2 }), 25, 1_800_000);
    expect(line).toMatchObject({ used: 2, projected: 8, perHour: 4, runsOutFirst: true });
    expect(budgetLineText(line!)).toBe(
      '$2.00 of $5.00 (warn at $4.00), $4.00 per active hour, about $8.00 at the end: the budget runs out first'
    );
    expect(budgetLines(limits, usage({ costUsd: 1 }), 50, 1_000)[0]).toMatchObject({
      projected: 2,
      runsOutFirst: false,
    });
    expect(budgetLines(limits, usage({}), 0, 0)[0]).toMatchObject({ projected: null, perHour: null });
  });
});
