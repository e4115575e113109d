"""Policy rollouts: trace records and the batched generation engine."""
