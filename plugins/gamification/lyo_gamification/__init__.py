"""Lyo's gamification plugin: an append-only points ledger, achievements with tiers,
streaks in the user's time zone and leaderboards by time window, all driven by other
plugins' events (see ``README.md``)."""
