"""MuJoCo world node for the Franka and Go2-W+PiPER embodiments, task suite, perturbations and rubrics."""
