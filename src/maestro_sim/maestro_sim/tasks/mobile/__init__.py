"""Mobile (Go2-W + PiPER) tasks; every module here registers its task with @register_task."""
