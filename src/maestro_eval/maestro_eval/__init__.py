"""STAR-Gen benchmark runner, harness ablation, self-evolution runs, reports and data export."""
