"""A whole class on one machine: `serve` starts a relay in front of several web processes and one trainer service
they all reach over a Unix socket (`trainer_client` speaks `trainer_wire` to `trainer_service`)."""
