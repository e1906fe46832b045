"""Days of operation in simulated time against one AWS emulator (``mlops simulate``).

The simulation drives the platform's own code on a scenario timeline: data drops
and captured traffic from the generator, labels that arrive late and only for
part of the traffic, the planned schedules, pipelines, alarms, EventBridge rules,
retrain gate, registry approvals, delivery commands and the endpoint's canary.
It records a timeline, writes a report and checks the invariants the loop must
hold. ``docs/simulation.md`` describes it.
"""
