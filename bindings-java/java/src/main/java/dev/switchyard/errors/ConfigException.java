//! Kind config: the config is invalid (field() names the path) or none was given.
package dev.switchyard.errors;

/** Kind config: the config is invalid (field() names the path) or none was given. */
public class ConfigException extends SwitchyardException {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message, Data data) {
        super(message, data);
    }
}
