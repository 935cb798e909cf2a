"""Jobs a person starts and follows: the runner, the job outbox, and the handlers by kind."""
