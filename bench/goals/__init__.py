"""Issue 15 goals: every measure beside the official SDK, with a pass/fail column."""
