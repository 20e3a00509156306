"""The running process seen from outside: metrics, the monitoring port, memory given back."""
