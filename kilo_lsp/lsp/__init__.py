"""Where a request comes in: the pygls server, its stdio, and how kilo/* requests are handled."""
