"""Ground-truth oracle policies (test-only) that solve the tasks with joint-space control."""
