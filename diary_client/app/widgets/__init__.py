"""Answer widgets for the daily report: they show and edit one value and post messages up."""
