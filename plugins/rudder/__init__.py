"""rudder plugin (in progress)."""
