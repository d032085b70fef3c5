"""Analysis: phase summaries with the paper's arithmetic, autocorrelation-aware statistics, reports."""
