"""The device side of sync: enrolment with a hub, upload rounds and reconciliation."""
