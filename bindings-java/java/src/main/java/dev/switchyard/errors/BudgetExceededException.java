//! Kind budget_exceeded: a hard budget is spent (the budget() it names).
package dev.switchyard.errors;

/** Kind budget_exceeded: a hard budget is spent (the budget() it names). */
public class BudgetExceededException extends RateLimitException {
    private static final long serialVersionUID = 1L;

    public BudgetExceededException(String message, Data data) {
        super(message, data);
    }
}
