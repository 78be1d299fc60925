"""The fault campaign: a real `paxiom node` cluster behind per-link TCP proxies, concurrent clients
recording a history, faults on a seeded schedule, then judgement (linearizability, lost acknowledged
writes, slot agreement, the refinement oracle, corruption never served). See docs/campaign.md."""
