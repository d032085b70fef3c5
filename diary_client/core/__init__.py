"""The rules everyone shares (device, hub, analysis): protocol, entry, schedule, answers, days, bounds, clock; imports nothing else of ours."""
