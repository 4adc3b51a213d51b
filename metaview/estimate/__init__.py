"""Per-study estimates: transforms, proportion intervals, standard errors from reported CIs."""
