"""Feature matrices per task, built from validated tables and the graph."""
