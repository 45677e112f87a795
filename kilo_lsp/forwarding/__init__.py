"""Where a request is sent: the prompt, the failover plan and the forwarder that streams the answer."""
