//! Kind budget_unavailable: a server-leased budget cannot be checked.
package dev.switchyard.errors;

/** Kind budget_unavailable: a server-leased budget cannot be checked. */
public class BudgetUnavailableException extends InternalServerException {
    private static final long serialVersionUID = 1L;

    public BudgetUnavailableException(String message, Data data) {
        super(message, data);
    }

    @Override
    protected int nominalStatus() {
        return 503;
    }
}
