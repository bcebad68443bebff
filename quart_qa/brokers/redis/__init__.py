"""The Redis Streams broker: users' streams, queues, leases and limits shared by every node."""
